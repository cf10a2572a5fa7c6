"""Python execution of a (FINN) ONNX graph for bit-exactness checks.

qonnx's execute_onnx "sanitizes" every integer-annotated tensor: it rounds values that are not integers (with a
warning) and scans each tensor element by element in Python, which takes seconds per 256x256 tile. For a
bit-exactness check rounding would hide exactly the errors we look for, so this executor runs the same node
implementations (qonnx's execute_node) without it and instead checks, with vectorized numpy, that every tensor
annotated as an integer type holds integers inside that type's range; the first that does not raises
NotInteger naming the tensor.
"""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_node
from qonnx.util.basic import get_preferred_qonnx_opset

from frd_q.errors import FrdError


class NotInteger(FrdError):
    """An integer-annotated tensor holds a value that is not an integer of its type."""


def check_integer(model: ModelWrapper, name: str, value: np.ndarray) -> None:
    dt = model.get_tensor_datatype(name)
    if dt is None or not dt.is_integer():
        return
    if not np.array_equal(value, np.round(value)):
        raise NotInteger(f"tensor {name} ({dt.name}) holds non-integer values, e.g. {value[value != np.round(value)][0]}")
    if value.size and (value.min() < dt.min() or value.max() > dt.max()):
        raise NotInteger(f"tensor {name} holds values in [{value.min()}, {value.max()}], outside {dt.name}")


def execute(model: ModelWrapper, feed: dict[str, np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run the graph on `feed`; returns the graph outputs, or every tensor with keep_all."""
    context = model.make_empty_exec_context()
    for name, value in feed.items():
        if name not in context or context[name].shape != value.shape:
            raise ValueError(f"input {name}: shape {value.shape} does not fit the graph")
        check_integer(model, name, value)
        context[name] = value
    opsets = model.get_opset_imports()
    for node in model.graph.node:
        execute_node(node, context, model.graph, opsets.get(node.domain, get_preferred_qonnx_opset()))
        for out in node.output:
            check_integer(model, out, context[out])
    if keep_all:
        return context
    return {o.name: context[o.name] for o in model.graph.output}
