import numpy as np
from graphs import graph, ops, run
from onnx import helper
from qonnx.core.datatype import DataType

from hw.transforms import RemoveIdentityThresholds


def threshold_graph(thresholds):
    mt = helper.make_node("MultiThreshold", ["x", "t"], ["q"], domain="qonnx.custom_op.general", out_dtype="UINT8")
    nodes = [mt, helper.make_node("Relu", ["q"], ["y"])]
    return graph(nodes, {"x": [1, 3, 4, 4]}, {"y": [1, 3, 4, 4]}, {"t": thresholds}, {"x": DataType["UINT8"]})


def test_pixel_quantizer_thresholds_are_removed_and_outputs_unchanged():
    k = np.arange(1, 256, dtype=np.float32)
    model = threshold_graph(np.tile(k - 0.5, (3, 1)))
    x = np.arange(48, dtype=np.float32).reshape(1, 3, 4, 4) * 5 % 256
    after = model.transform(RemoveIdentityThresholds())
    assert ops(after) == ["Relu"]
    assert np.array_equal(run(after, {"x": x}), run(model, {"x": x}))


def test_a_threshold_that_changes_one_level_is_kept():
    k = np.arange(1, 256, dtype=np.float32)
    t = np.tile(k - 0.5, (3, 1))
    t[1, 100] = 101.5  # level 101 now needs x >= 102: not the identity
    model = threshold_graph(t)
    assert ops(model.transform(RemoveIdentityThresholds())) == ["MultiThreshold", "Relu"]
