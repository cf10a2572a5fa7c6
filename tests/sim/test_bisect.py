"""sim.bisect on small synthetic graphs executed by qonnx (no build): which layers are matched across graphs, which
one is named first, and when a difference is a rounding tie rather than a fault."""

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from sim.bisect import TIE_GAP, anchor_class, first_graph_difference, first_quant_difference, threshold_gap

QONNX = "qonnx.custom_op.general"


def graph(nodes, inputs: dict, outputs: dict, inits: dict) -> ModelWrapper:
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, s)  # noqa: E731
    g = helper.make_graph(nodes, "g", [vi(n, s) for n, s in inputs.items()], [vi(n, s) for n, s in outputs.items()])
    model = ModelWrapper(qonnx_make_model(g))
    for name, value in inits.items():
        model.set_initializer(name, np.asarray(value, dtype=np.float32))
    return model.transform(InferShapes())


def run(model, feed) -> dict:
    return execute_onnx(model, feed, return_full_exec_context=True)


def threshold(name, x, t, y, layout=None):
    kw = {"data_layout": layout} if layout else {}
    return helper.make_node("MultiThreshold", [x, t], [y], name=name, domain=QONNX, **kw)


@pytest.mark.parametrize("op,cls", [
    ("MatMul", "matmul"), ("MVAU_rtl", "matmul"), ("MVAU", "matmul"), ("MultiThreshold", "threshold"),
    ("Thresholding_hls", "threshold"), ("Im2Col", "window"), ("ConvolutionInputGenerator_rtl", "window"),
    ("MaxPoolNHWC", "pool"), ("Pool_rtl", "pool"), ("ElementwiseAbsDiff_rtl", "absdiff"), ("Abs", "absdiff"),
    ("StreamingConcat_rtl", "concat"), ("Resize", "upsample"), ("UpsampleNearestNeighbour_rtl", "upsample"),
    ("StreamingFIFO_rtl", None), ("DuplicateStreams_rtl", None), ("Add", None), ("MVAU_rtl_extra", None),
])
def test_anchor_class(op, cls):
    assert anchor_class(op) == cls


def test_threshold_gap_uses_the_thresholds_of_the_differing_channel():
    node = threshold("t0", "x", "t", "y")
    model = graph([node], {"x": [1, 3, 2, 2]}, {"y": [1, 3, 2, 2]},
                  {"t": [[0.5, 1.5], [10.0, 20.0], [-4.0, 4.0]]})
    x = np.zeros((1, 3, 2, 2))
    x[0, 1, 1, 0] = 19.9996  # channel 1: 0.0004 below its threshold 20
    x[0, 2, 0, 1] = 1.0  # channel 2: 3 from its threshold 4 (and 0.5 from channel 0's 1.5)
    one = lambda c, h, w: np.pad(np.ones((1, 1, 1, 1), bool), [(0, 0), (c, 2 - c), (h, 1 - h), (w, 1 - w)])  # noqa: E731
    assert threshold_gap(model, node, x, one(1, 1, 0), channel_axis=1) == pytest.approx(4e-4, abs=1e-6)
    assert threshold_gap(model, node, x, one(2, 0, 1), channel_axis=1) == pytest.approx(3.0)
    both = one(1, 1, 0) | one(2, 0, 1)
    assert threshold_gap(model, node, x, both, channel_axis=1) == pytest.approx(4e-4, abs=1e-6)  # the closest one
    # the same data channels-last
    x_last, both_last = np.moveaxis(x, 1, -1), np.moveaxis(both, 1, -1)
    assert threshold_gap(model, node, x_last, both_last) == pytest.approx(4e-4, abs=1e-6)
    assert threshold_gap(model, node, x, np.zeros_like(both), channel_axis=1) is None  # nothing differs


def test_threshold_gap_with_one_row_for_every_channel_and_for_other_layers():
    node = threshold("t0", "x", "t", "y")
    model = graph([node], {"x": [1, 4]}, {"y": [1, 4]}, {"t": [[1.0, 2.0, 3.0]]})
    x = np.array([[0.0, 2.25, 9.0, 3.0]])
    assert threshold_gap(model, node, x, np.array([[False, True, True, False]])) == pytest.approx(0.25)
    mm = helper.make_node("MatMul", ["x", "w"], ["z"])
    assert threshold_gap(model, mm, x, np.ones((1, 4), bool)) is None


# -- two graphs that compute the same, node and tensor names differing -----------------------------------------
W1 = np.array([[1, 0, 2], [0, 1, 0], [1, 1, 0], [0, 2, 1]], dtype=np.float32)
W2 = np.array([[1, -1], [2, 0], [0, 1]], dtype=np.float32)
T = np.array([[0.5, 2.5], [-1.0, 1.0], [2.5, 3.0]], dtype=np.float32)
X = np.array([[1.0, 2.0, -1.0, 0.5]], dtype=np.float32)  # x @ W1 = [0, 2, 2.5]: channel 2 sits on its threshold 2.5


def reference_graph():
    """A streamlined-style chain: MatMul, MultiThreshold, MatMul."""
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"], name="MatMul_0"), threshold("MultiThreshold_0", "m1", "t", "t1"),
             helper.make_node("MatMul", ["t1", "w2"], ["y"], name="MatMul_1")]
    return graph(nodes, {"x": [1, 4]}, {"y": [1, 2]}, {"w1": W1, "t": T, "w2": W2})


def hw_graph(w2=W2, t=T):
    """The same computation as hardware-layer-style graph: other names, a pass-through layer between."""
    nodes = [helper.make_node("MatMul", ["inp", "p0"], ["a"], name="mm_a"), helper.make_node("Identity", ["a"], ["b"]),
             threshold("thr_a", "b", "p1", "c", layout="NC"), helper.make_node("MatMul", ["c", "p2"], ["out"], name="mm_b")]
    return graph(nodes, {"inp": [1, 4]}, {"out": [1, 2]}, {"p0": W1, "p1": t, "p2": w2})


@pytest.fixture(scope="module")
def reference():
    model = reference_graph()
    return model, run(model, {"x": X})


def test_identical_graphs_have_no_first_difference(reference):
    ref_model, ref_ctx = reference
    model = hw_graph()
    assert first_graph_difference(ref_model, ref_ctx, model, run(model, {"inp": X})) is None


def test_the_first_differing_layer_is_named_with_its_reference(reference):
    ref_model, ref_ctx = reference
    w2 = W2.copy()
    w2[2, 0] = 3.0  # thresholded [0, 2, 1]: the second matrix product differs in output column 0 only
    model = hw_graph(w2=w2)
    ctx = run(model, {"inp": X})
    found = first_graph_difference(ref_model, ref_ctx, model, ctx)
    assert found["layer"] == "mm_b" and found["reference_layer"] == "MatMul_1" and found["op_type"] == "MatMul"
    assert (found["mismatches"], found["elements"]) == (1, 2)
    assert found["max_abs_diff"] == pytest.approx(3.0)  # t1[2] = 1, weight 0 -> 3
    assert found["threshold_gap"] is None and found["tie"] is False


def test_a_threshold_that_flips_on_a_tie_is_named_before_the_layers_it_spoils(reference):
    ref_model, ref_ctx = reference
    t = T.copy()
    t[2, 0] += 5e-4  # channel 2's input 2.5 now falls below its threshold: the threshold and the next MatMul differ
    model = hw_graph(t=t)
    ctx = run(model, {"inp": X})
    found = first_graph_difference(ref_model, ref_ctx, model, ctx)
    assert found["layer"] == "thr_a" and found["reference_layer"] == "MultiThreshold_0"
    assert found["mismatches"] == 1 and found["max_abs_diff"] == 1
    assert found["threshold_gap"] == pytest.approx(0.0) and found["tie"] is True
    # integers compared with integer thresholds cannot tie: the same difference is a fault
    assert first_graph_difference(ref_model, ref_ctx, model, ctx, integer_inputs=True)["tie"] is False
    # far from every threshold it is a fault too
    t[1, 1] = 2.5  # channel 1's input 2 now falls below it; 1 away from the reference's thresholds (-1, 1)
    far = hw_graph(t=t)
    found = first_graph_difference(ref_model, ref_ctx, far, run(far, {"inp": X}))
    assert found["layer"] == "thr_a" and found["mismatches"] == 2 and found["threshold_gap"] == pytest.approx(0.0)
    t[2, 0] = T[2, 0]
    only_far = hw_graph(t=t)
    found = first_graph_difference(ref_model, ref_ctx, only_far, run(only_far, {"inp": X}))
    assert found["mismatches"] == 1 and found["threshold_gap"] == pytest.approx(1.0) and found["tie"] is False


def test_an_nchw_reference_is_compared_channels_last():
    """A streamlined NCHW threshold layer against an NHWC hardware one (3 channels, 2x2 pixels, synthetic values):
    outputs are transposed to match, and the gap is measured against the differing element's own channel."""
    t = np.array([[0.5], [10.0], [-2.0]], dtype=np.float32)
    ref_model = graph([threshold("MultiThreshold_0", "x", "t", "y")], {"x": [1, 3, 2, 2]}, {"y": [1, 3, 2, 2]}, {"t": t})
    x = np.zeros((1, 3, 2, 2), dtype=np.float32)
    x[0, 1, 0, 1] = 10.0004  # on channel 1's threshold 10 (0.0004 above), set in the reference
    ref_ctx = run(ref_model, {"x": x})
    t_hw = t.copy()
    t_hw[1, 0] = 10.001  # the hardware layer's threshold moved above it
    model = graph([threshold("Thresholding_0", "xh", "th", "yh", layout="NHWC")], {"xh": [1, 2, 2, 3]},
                  {"yh": [1, 2, 2, 3]}, {"th": t_hw})
    ctx = run(model, {"xh": x.transpose(0, 2, 3, 1)})
    found = first_graph_difference(ref_model, ref_ctx, model, ctx)
    assert found["layer"] == "Thresholding_0" and found["mismatches"] == 1 and found["elements"] == 12
    assert found["threshold_gap"] == pytest.approx(4e-4, abs=1e-5) and found["threshold_gap"] < TIE_GAP
    assert found["tie"] is True
    # with the hardware thresholds equal the transposed outputs agree: nothing is named
    same = graph([threshold("Thresholding_0", "xh", "th", "yh", layout="NHWC")], {"xh": [1, 2, 2, 3]},
                 {"yh": [1, 2, 2, 3]}, {"th": t})
    assert first_graph_difference(ref_model, ref_ctx, same, run(same, {"xh": x.transpose(0, 2, 3, 1)})) is None


def test_layers_of_a_class_the_reference_lacks_or_of_another_shape_are_skipped(reference):
    ref_model, ref_ctx = reference
    # a third MatMul (no counterpart) whose output differs from nothing; a concat the reference does not have
    nodes = [helper.make_node("MatMul", ["inp", "p0"], ["a"], name="mm_a"),
             threshold("thr_a", "a", "p1", "c", layout="NC"),
             helper.make_node("MatMul", ["c", "p2"], ["d"], name="mm_b"),
             helper.make_node("MatMul", ["d", "p3"], ["e"], name="mm_c"),
             helper.make_node("Concat", ["e", "e"], ["out"], name="cat", axis=-1)]
    model = graph(nodes, {"inp": [1, 4]}, {"out": [1, 4]}, {"p0": W1, "p1": T, "p2": W2, "p3": [[5, 0], [0, 5]]})
    assert first_graph_difference(ref_model, ref_ctx, model, run(model, {"inp": X})) is None
    # a matching layer whose shape differs (here: the first MatMul of the reference against a (1, 2) product) is
    # skipped, not compared
    small = graph([helper.make_node("MatMul", ["inp", "p0"], ["out"], name="mm_small")], {"inp": [1, 4]},
                  {"out": [1, 2]}, {"p0": np.ones((4, 2))})
    assert first_graph_difference(ref_model, ref_ctx, small, run(small, {"inp": X})) is None


# -- QONNX activation quantizers against streamlined thresholds ------------------------------------------------
def quant(name, x, scale, bits, y, signed=0):
    return helper.make_node("Quant", [x, f"{name}_s", f"{name}_z", f"{name}_b"], [y], name=name, domain=QONNX,
                            signed=signed, narrow=0, rounding_mode="ROUND")


QUANT_W = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32)


def qonnx_graph():
    """An 8-bit input quantizer (scale 1/4), a weight quantizer, a matrix product and a 4-bit activation quantizer
    (scale 1/2): the last one is the only one with a streamlined counterpart."""
    nodes = [quant("Quant_in", "x", 0.25, 8, "xq"), quant("Quant_w", "w", 1.0, 4, "wq", signed=1),
             helper.make_node("MatMul", ["xq", "wq"], ["h"], name="MatMul_0"), quant("Quant_act", "h", 0.5, 4, "y")]
    inits = {"w": QUANT_W}
    for name, s, b in [("Quant_in", 0.25, 8), ("Quant_w", 1.0, 4), ("Quant_act", 0.5, 4)]:
        inits |= {f"{name}_s": s, f"{name}_z": 0.0, f"{name}_b": b}
    return graph(nodes, {"x": [1, 2]}, {"y": [1, 3]}, inits)


def streamlined_graph(shift=None):
    """x @ W, then the 4-bit activation as thresholds (k - 1/2) / 2 for k = 1..15; `shift`: (channel, index, delta)."""
    t = np.tile((np.arange(1, 16) - 0.5) * 0.5, (3, 1)).astype(np.float32)
    if shift is not None:
        t[shift[0], shift[1]] += shift[2]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="MatMul_0"), threshold("MultiThreshold_0", "h", "t", "y")]
    return graph(nodes, {"x": [1, 2]}, {"y": [1, 3]}, {"w": QUANT_W, "t": t})


def quant_case(x, shift=None):
    q, s = qonnx_graph(), streamlined_graph(shift)
    x = np.array([x], dtype=np.float32)
    return q, run(q, {"x": x}), s, run(s, {"x": x})


def test_quant_levels_that_agree_have_no_difference():
    assert first_quant_difference(*quant_case([1.0, 1.5])) is None  # h / scale = [2, 3, 5]: no half-integer


def test_a_half_integer_rounded_to_even_by_qonnx_is_a_tie():
    # h = [1.25, 1.5, 2.75], h / scale = [2.5, 3, 5.5]: QONNX rounds half to even (2, 3, 6), thresholds give (3, 3, 6)
    found = first_quant_difference(*quant_case([1.25, 1.5]))
    assert found["layer"] == "MultiThreshold_0" and found["reference_layer"] == "Quant_act"
    assert found["mismatches"] == 1 and found["max_abs_diff"] == 1
    assert found["threshold_gap"] == pytest.approx(0.0) and found["tie"] is True


def test_a_moved_threshold_is_a_fault_named_against_its_quantizer():
    # channel 1's third threshold (1.25) moved to 2.25: its input 1.5 (3 after quantization) now counts 2
    found = first_quant_difference(*quant_case([1.0, 1.5], shift=(1, 2, 1.0)))
    assert found["layer"] == "MultiThreshold_0" and found["reference_layer"] == "Quant_act"
    assert found["mismatches"] == 1 and found["threshold_gap"] == pytest.approx(0.5) and found["tie"] is False


def test_a_cube_shaped_nchw_reference_is_transposed_by_its_layout_not_its_shape():
    """C = H = W = 4 (synthetic values): the NCHW reference and the NHWC hardware tensor have the same shape, so only
    the layout annotation tells that the reference must be transposed; equal thresholds must give no difference."""
    rng = np.random.default_rng(3)
    t = np.array([[0.5], [1.5], [2.5], [3.5]], dtype=np.float32)
    x = rng.integers(0, 5, (1, 4, 4, 4)).astype(np.float32)
    ref_model = graph([threshold("MultiThreshold_0", "x", "t", "y")], {"x": [1, 4, 4, 4]}, {"y": [1, 4, 4, 4]}, {"t": t})
    ref_model.set_tensor_layout("x", ["N", "C", "H", "W"])
    ref_model.set_tensor_layout("y", ["N", "C", "H", "W"])
    ref_ctx = run(ref_model, {"x": x})
    model = graph([threshold("Thresholding_0", "xh", "th", "yh", layout="NHWC")], {"xh": [1, 4, 4, 4]},
                  {"yh": [1, 4, 4, 4]}, {"th": t})
    model.set_tensor_layout("yh", ["N", "H", "W", "C"])
    ctx = run(model, {"xh": x.transpose(0, 2, 3, 1)})
    assert not np.array_equal(ctx["yh"], ref_ctx["y"])  # compared untransposed, they would differ
    assert first_graph_difference(ref_model, ref_ctx, model, ctx) is None
    t_hw = t.copy()
    t_hw[2, 0] = 3.5  # channel 2's threshold moved: every input 3 of channel 2 now differs
    broken = graph([threshold("Thresholding_0", "xh", "th", "yh", layout="NHWC")], {"xh": [1, 4, 4, 4]},
                   {"yh": [1, 4, 4, 4]}, {"th": t_hw})
    broken.set_tensor_layout("yh", ["N", "H", "W", "C"])
    found = first_graph_difference(ref_model, ref_ctx, broken, run(broken, {"xh": x.transpose(0, 2, 3, 1)}))
    assert found["layer"] == "Thresholding_0" and found["mismatches"] == int((x[0, 2] == 3).sum())
