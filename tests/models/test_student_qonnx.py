"""Guard for the student's "FINN-compilable only" promise: it exports to QONNX and the export runs like PyTorch.

The export tooling itself (checkpoint -> .onnx, FINN flow) belongs to frd_q.export; this only checks that no
operator slips into the student that Brevitas' QONNX export or qonnx execution cannot handle.
"""

from collections import Counter

import numpy as np
import pytest
import torch
from brevitas.export import export_qonnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx

from frd_q.config import Arch, Downsample, Fusion, ModelConfig
from frd_q.models import build_model

ALLOWED_OPS = {"Quant", "BipolarQuant", "Conv", "BatchNormalization", "Relu", "MaxPool", "Sub", "Abs", "Resize",
               "Concat", "Identity"}


@pytest.mark.parametrize("fusion,downsample,bits", [(Fusion.ABSDIFF, Downsample.MAXPOOL, 4),
                                                    (Fusion.CONCAT, Downsample.STRIDE, 2)])
def test_student_exports_to_qonnx_and_matches_torch(tmp_path, fusion, downsample, bits):
    torch.manual_seed(0)
    cfg = ModelConfig(arch=Arch.STUDENT, widths=[8, 16, 24], fusion=fusion, downsample=downsample,
                      weight_bits=bits, act_bits=bits)
    model = build_model(cfg).eval()
    rng = np.random.default_rng(0)
    a, b = (torch.from_numpy(rng.integers(0, 256, (1, 3, 32, 32)).astype(np.float32) / 255) for _ in range(2))
    path = tmp_path / "student.onnx"
    export_qonnx(model, (a, b), export_path=str(path))
    graph = ModelWrapper(str(path))
    ops = Counter(n.op_type for n in graph.graph.node)
    assert set(ops) <= ALLOWED_OPS, ops
    assert ops["Conv"] == 2 * 2 * 3 + 2 + 1  # both dates' encoders, the decoder, the head
    names = [i.name for i in graph.graph.input]
    out = execute_onnx(graph, {names[0]: a.numpy(), names[1]: b.numpy()})[graph.graph.output[0].name]
    ref = model(a, b).detach().numpy()
    # float32 evaluation of the same quantized graph in another order: only rounding-level differences
    assert np.abs(out - ref).max() < 1e-4
    assert np.array_equal(out > 0, ref > 0)
