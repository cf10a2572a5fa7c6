"""Small hand-built ONNX graphs for the graph-pass tests, a runner that executes them, a seeded rng fixture."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.basic import qonnx_make_model


def graph(nodes, inputs: dict, outputs: dict, inits: dict | None = None, datatypes: dict | None = None) -> ModelWrapper:
    """A ModelWrapper from nodes, {input: shape}, {output: shape}, {name: array} initializers, {tensor: DataType}."""
    vi = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)  # noqa: E731
    g = helper.make_graph(nodes, "t", [vi(n, s) for n, s in inputs.items()], [vi(n, s) for n, s in outputs.items()])
    model = ModelWrapper(qonnx_make_model(g, producer_name="frd_q-test"))
    for name, value in (inits or {}).items():
        model.set_initializer(name, np.asarray(value, dtype=np.float32))
    for name, dt in (datatypes or {}).items():
        model.set_tensor_datatype(name, dt)
    from qonnx.transformation.infer_shapes import InferShapes

    return model.transform(InferShapes())


def run(model: ModelWrapper, feed: dict) -> np.ndarray:
    return execute_onnx(model, feed)[model.graph.output[0].name]


def ops(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in model.graph.node]


@pytest.fixture
def rng():
    return np.random.default_rng(0)
