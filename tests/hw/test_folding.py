"""hw.folding on a small synthetic hardware-layer graph (no build): SetFolding seeing frd_q's RTL stream operators under
their HLS names, the SIMD = MW refolding of RTL MVAUs, cycle and resource checks, and the three ways the flow's
folding step chooses PE/SIMD (a folding file, a target frame rate, the fastest design that fits).

The graph: x (1, 4, 4, 12) UINT4 -> MVAU_rtl (12 -> 8, INT4 weights, no activation) -+-> dup_skip -+-> cat_join -> y
(DuplicateStreams_rtl, StreamingConcat_rtl). Every function here runs in milliseconds on it.
"""

import dataclasses
import json

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from hw.boards import get_board
from hw.folding import (ESTIMATED, LUTRAM_MAX_DEPTH, apply_folding, avoid_simd_equals_mw, dsp_lanes, fastest_fitting,
                        fits, fold, fold_upsamplers, fully_unfolded_mvaus, match_threshold_pe, mvau_dsps, pack_dsp_lanes,
                        place_weight_memories, place_window_buffers, slowest_layer_cycles, totals,
                        whole_ratio_streams)
from hw.resources import model_totals
from hw.rtl_ops import register

RTL = "finn.custom_op.fpgadataflow.rtl"
HLS = "finn.custom_op.fpgadataflow.hls"
BOARD = get_board("ZCU104")
WMAX = 288


def mvau(name, mw, mh, simd=1, pe=1, op="MVAU_rtl", ins=("x", "w"), out="m", wbits=4):
    return helper.make_node(op, list(ins), [out], name=name, domain=RTL if op.endswith("_rtl") else HLS,
                            backend="fpgadataflow", MW=mw, MH=mh, SIMD=simd, PE=pe, inputDataType="UINT4",
                            weightDataType=f"INT{wbits}", outputDataType="INT16", accDataType="INT16",
                            numInputVectors=[1, 4, 4], mem_mode="internal_decoupled", noActivation=1, ActVal=0,
                            binaryXnorMode=0, resType="auto", ram_style="auto")


def model_of(nodes, tensors: dict, weights: dict) -> ModelWrapper:
    """tensors: {name: (shape, datatype)}, the first the input, the last the output."""
    register()
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, tensors[n][0])  # noqa: E731
    names = list(tensors)
    model = ModelWrapper(qonnx_make_model(helper.make_graph(nodes, "g", [vi(names[0])], [vi(names[-1])])))
    for name, (shape, dt) in tensors.items():
        model.set_tensor_shape(name, shape)
        model.set_tensor_datatype(name, DataType[dt])
    rng = np.random.default_rng(0)
    for name, (mw, mh, bits) in weights.items():
        model.set_initializer(name, rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(mw, mh)).astype(np.float32))
        model.set_tensor_datatype(name, DataType[f"INT{bits}"])
    return model


def small_model() -> ModelWrapper:
    nodes = [mvau("MVAU_rtl_0", 12, 8),
             helper.make_node("DuplicateStreams_rtl", ["m"], ["a", "b"], name="dup_skip", domain=RTL,
                              backend="fpgadataflow", NumChannels=8, PE=1, NumOutputStreams=2, inputDataType="INT16",
                              numInputVectors=[1, 4, 4]),
             helper.make_node("StreamingConcat_rtl", ["a", "b"], ["y"], name="cat_join", domain=RTL,
                              backend="fpgadataflow", ChannelsPerStream=[8, 8], SIMD=1,
                              inputDataTypes=["INT16", "INT16"], numInputVectors=[1, 4, 4])]
    tensors = {"x": ([1, 4, 4, 12], "UINT4"), "m": ([1, 4, 4, 8], "INT16"), "a": ([1, 4, 4, 8], "INT16"),
               "b": ([1, 4, 4, 8], "INT16"), "y": ([1, 4, 4, 16], "INT16")}
    return model_of(nodes, tensors, {"w": (12, 8, 4)})


def attrs(model, name, *keys):
    inst = getCustomOp(next(n for n in model.graph.node if n.name == name))
    return tuple(inst.get_nodeattr(k) for k in keys)


def exp_cycles(model) -> dict:
    return {n.name: getCustomOp(n).get_exp_cycles() for n in model.graph.node}


# -- SetFolding under HLS names, and back --------------------------------------------------------------------
def test_fold_parallelizes_frd_q_rtl_ops_under_their_hls_names_and_restores_them():
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    model = small_model()
    before = [(n.name, n.op_type, n.domain) for n in model.graph.node]
    fast = fold(model, 1, WMAX, BOARD.part)
    assert [(n.name, n.op_type, n.domain) for n in fast.graph.node] == before  # names, types, domains restored
    assert attrs(model, "dup_skip", "PE") == (1,) and attrs(model, "cat_join", "SIMD") == (1,)  # input untouched
    # FINN's SetFolding alone does not know the RTL versions and leaves them at PE / SIMD 1 (it renames every node)
    plain = model.transform(SetFolding(target_cycles_per_frame=1, mvau_wwidth_max=WMAX))
    _, dup, cat = (getCustomOp(n) for n in plain.graph.node)
    assert dup.get_nodeattr("PE") == 1 and cat.get_nodeattr("SIMD") == 1
    # shown as HLS ops they are folded like the rest: the concat to its widest SIMD, the fork as far as it is needed
    assert attrs(fast, "cat_join", "SIMD") == (8,)
    assert attrs(fast, "dup_skip", "PE")[0] > 1
    cycles = exp_cycles(fast)
    assert cycles["cat_join"] == max(cycles.values()) == slowest_layer_cycles(fast) == 32
    assert cycles["dup_skip"] <= 32 and cycles["MVAU_rtl_0"] <= 32
    slow = fold(model, 10**12, WMAX, BOARD.part)
    assert attrs(slow, "MVAU_rtl_0", "SIMD", "PE") == (1, 1) and attrs(slow, "dup_skip", "PE") == (1,)


def test_slowest_layer_cycles_is_the_slowest_layers_estimate():
    model = small_model()
    # fully folded MVAU: MW x MH cycles per pixel, 16 pixels
    assert slowest_layer_cycles(model) == 12 * 8 * 16 == max(exp_cycles(model).values())
    folded = fold(model, 400, WMAX, BOARD.part)
    assert slowest_layer_cycles(folded) <= 400 < slowest_layer_cycles(model)


def test_fold_never_leaves_an_rtl_mvau_at_simd_equal_mw():
    model = small_model()
    fast = fold(model, 1, WMAX, BOARD.part)
    simd, pe = attrs(fast, "MVAU_rtl_0", "SIMD", "PE")
    assert fully_unfolded_mvaus(fast) == [] and simd < 12 and 12 % simd == 0 and 8 % pe == 0
    assert simd * 4 <= WMAX


# -- SIMD = MW ----------------------------------------------------------------------------------------------
def four_mvaus():
    """Four RTL MVAUs in a row: SIMD = MW; SIMD < MW; MW = 1 (SIMD = MW is then the only choice); and an HLS MVAU at
    SIMD = MW (its HLS code handles it)."""
    nodes = [mvau("full", 12, 8, simd=12, pe=2, ins=("x", "w0"), out="h0"),
             mvau("part", 8, 6, simd=4, pe=3, ins=("h0", "w1"), out="h1"),
             mvau("one", 6, 6, simd=6, pe=1, ins=("h1", "w2"), out="h2", op="MVAU_hls"),
             mvau("single", 1, 4, simd=1, pe=1, ins=("h2s", "w3"), out="y")]
    tensors = {"x": ([1, 4, 4, 12], "UINT4"), "h0": ([1, 4, 4, 8], "UINT4"), "h1": ([1, 4, 4, 6], "UINT4"),
               "h2": ([1, 4, 4, 6], "UINT4"), "h2s": ([1, 4, 4, 1], "UINT4"), "y": ([1, 4, 4, 4], "INT16")}
    return model_of(nodes, tensors, {"w0": (12, 8, 4), "w1": (8, 6, 4), "w2": (6, 6, 4), "w3": (1, 4, 4)})


def test_fully_unfolded_mvaus_are_rtl_mvaus_at_simd_equal_mw_above_one():
    assert fully_unfolded_mvaus(four_mvaus()) == ["full"]


@pytest.mark.parametrize("wmax,want", [
    (288, (3, 8)),  # 4 cycles per vector as before (12/12 x 8/2): (6, 4) and (3, 8) both need 24 multipliers,
    (64, (3, 8)),  # the narrower SIMD wins; SIMD 3 x 4 bits is within 64 bits per PE too
    (8, (2, 8)),  # two 4-bit weights per PE: 4 cycles are out of reach, the fastest is 6 x 1 with every PE
])
def test_avoid_simd_equals_mw_picks_a_proper_divisor_as_fast_as_before_within_the_weight_stream(wmax, want):
    model = four_mvaus()
    assert avoid_simd_equals_mw(model, wmax) == ["full"]
    assert attrs(model, "full", "SIMD", "PE") == want
    assert attrs(model, "part", "SIMD", "PE") == (4, 3) and attrs(model, "single", "SIMD", "PE") == (1, 1)
    assert attrs(model, "one", "SIMD", "PE") == (6, 1)  # HLS: left alone
    assert fully_unfolded_mvaus(model) == []
    simd, pe = want
    allowed = [(s, p) for s in (1, 2, 3, 4, 6) for p in (1, 2, 4, 8) if s * 4 <= wmax]
    best = min((12 // s) * (8 // p) for s, p in allowed)
    assert (12 // simd) * (8 // pe) == max(best, 4)  # as fast as SIMD 12 x PE 2 where that can be reached
    assert simd * pe == min(s * p for s, p in allowed if (12 // s) * (8 // p) == max(best, 4))


# -- resources ----------------------------------------------------------------------------------------------
def test_fits_compares_every_resource_with_the_share_of_the_board_less_the_fifo_reserve():
    import math

    from hw.resources import FIFO_RESERVE, folded_totals

    model = fold(small_model(), 1, WMAX, BOARD.part)
    use = model_totals(model, BOARD.part)
    assert set(use) == set(ESTIMATED) | {"FF"} and "FF" not in ESTIMATED  # FINN does not estimate flip-flops
    assert use["LUT"] > totals(model, BOARD.part)["LUT"]  # the RTL MVAU's LUTs, which FINN counts as 0
    assert use["DSP"] > 0 and use["BRAM_18K"] == 0  # shallow weight memories go to LUTRAM
    folded = folded_totals(model, BOARD.part)  # with the width converters code generation will insert
    assert folded["LUT"] >= use["LUT"] and folded["DSP"] == use["DSP"]
    # a board exactly that large, with the FIFO reserve of its LUTs and FFs on top
    cap = {r: math.ceil(folded[r] / (1 - FIFO_RESERVE.get(r, 0.0))) + 1 for r in folded}
    exact = dataclasses.replace(BOARD, lut=cap["LUT"], ff=cap["FF"], bram18=int(folded["BRAM_18K"]),
                                dsp=int(folded["DSP"]), uram=int(folded["URAM"]))
    assert fits(model, exact, 1.0)
    assert not fits(model, exact, 0.9)
    assert not fits(model, dataclasses.replace(exact, dsp=exact.dsp - 1), 1.0)
    assert not fits(model, dataclasses.replace(exact, lut=math.ceil(folded["LUT"])), 1.0)  # no room for the FIFOs


def test_fastest_fitting_bisects_between_the_slowest_and_the_fastest_folding():
    model = small_model()
    slow_use = model_totals(fold(model, 10**12, WMAX, BOARD.part), BOARD.part)
    fast_use = model_totals(fold(model, 1, WMAX, BOARD.part), BOARD.part)
    assert slow_use["DSP"] < 4 < fast_use["DSP"]
    # a board with room for everything: the fastest folding, limited by what SetFolding can do
    found, cycles, limit = fastest_fitting(model, BOARD, 0.9, WMAX)
    assert (cycles, limit) == (32, "folding limits") and slowest_layer_cycles(found) == 32
    # 4 DSPs: a folding in between, limited by the resources
    small = dataclasses.replace(BOARD, dsp=4)
    found, cycles, limit = fastest_fitting(model, small, 1.0, WMAX)
    assert limit == "resources" and fits(found, small, 1.0) and 32 < cycles < 12 * 8 * 16
    assert cycles == slowest_layer_cycles(found)
    # no DSP at all: not even the slowest folding fits
    assert fastest_fitting(model, dataclasses.replace(BOARD, dsp=0), 1.0, WMAX) is None


# -- the flow's folding step --------------------------------------------------------------------------------
def build_for(tmp_path, **cfg):
    from hw.flow import Build, BuildConfig

    return Build(BuildConfig(checkpoint="unused", board="ZCU104", out=tmp_path, **cfg), BOARD)


def test_a_folding_file_is_applied_as_given_and_simd_equal_mw_is_flagged(tmp_path):
    folding = tmp_path / "folding.json"
    folding.write_text(json.dumps({"Defaults": {}, "MVAU_rtl_0": {"SIMD": 12, "PE": 2},
                                   "dup_skip": {"PE": 4}, "cat_join": {"SIMD": 2}}))
    build = build_for(tmp_path, folding=folding)
    model = apply_folding(small_model(), build)
    assert attrs(model, "MVAU_rtl_0", "SIMD", "PE") == (12, 2)  # not refolded
    assert attrs(model, "dup_skip", "PE") == (4,) and attrs(model, "cat_join", "SIMD") == (2,)
    info = build.summary.folding
    assert info["mode"] == f"file {folding}" and info["mvau_wwidth_max"] == WMAX
    assert info["mvau_simd_equals_mw"] == ["MVAU_rtl_0"]
    assert any(n.startswith("MVAU_rtl_0: SIMD = MW") for n in build.notes)
    assert info["fps"] == pytest.approx(1e9 / BOARD.clock_ns / slowest_layer_cycles(model)) and info["fits"] is True
    written = json.loads((tmp_path / "folding_config.json").read_text())
    assert written["MVAU_rtl_0"]["SIMD"] == 12 and written["MVAU_rtl_0"]["PE"] == 2
    assert written["dup_skip"]["PE"] == 4 and written["cat_join"]["SIMD"] == 2


def test_a_missing_folding_file_is_a_flow_error(tmp_path):
    from hw.flow import FlowError

    build = build_for(tmp_path, folding=tmp_path / "nope.json")
    with pytest.raises(FlowError, match="nope.json: folding file not found"):
        apply_folding(small_model(), build)


def test_a_target_frame_rate_is_folded_for(tmp_path):
    clock_hz = 1e9 / BOARD.clock_ns
    build = build_for(tmp_path, target_fps=clock_hz / 400)  # a budget of 400 cycles per frame
    model = apply_folding(small_model(), build)
    info = build.summary.folding
    assert info["mode"].startswith("target") and info["requested_fps"] == pytest.approx(clock_hz / 400)
    assert slowest_layer_cycles(model) <= 400 and info["fps"] >= info["requested_fps"]
    assert "mvau_simd_equals_mw" not in info and info["fits"] is True


def test_without_a_target_the_fastest_design_that_fits_is_chosen(tmp_path):
    build = build_for(tmp_path)
    model = apply_folding(small_model(), build)
    info = build.summary.folding
    assert info["limited_by"] == "folding limits" and info["mode"] == "fastest design within 90% of ZCU104"
    assert info["fps"] == pytest.approx(1e9 / BOARD.clock_ns / 32) and slowest_layer_cycles(model) == 32
    assert fully_unfolded_mvaus(model) == [] and build.notes == []


def test_an_unreachable_target_says_which_frame_rate_fits(tmp_path):
    build = build_for(tmp_path, target_fps=1e9 / BOARD.clock_ns)  # one cycle per frame
    build.board = dataclasses.replace(BOARD, dsp=4)
    apply_folding(small_model(), build)
    info = build.summary.folding
    assert info["fits"] is False and 0 < info["max_fitting_fps"] < info["fps"]
    assert len(build.notes) == 1 and "does not fit ZCU104" in build.notes[0]


# -- DSP lanes, upsampling, weight memories -------------------------------------------------------------------
def test_dsp_lanes_follow_finn_rtllib_lane_packing():
    assert dsp_lanes(4, 4, BOARD.part) == 4  # DSP48E2: 1 + (27 - 1 - 4) // 7
    assert dsp_lanes(4, 8, BOARD.part) == 3  # 8-bit pixels: 1 + 22 // 11
    assert dsp_lanes(4, 4, get_board("Pynq-Z1").part) == 3  # DSP48E1, 25-bit A: 1 + 20 // 7
    assert mvau_dsps(4, 18, 4, "DSP48E2") == 18 and mvau_dsps(1, 72, 4, "DSP48E2") == 72
    assert mvau_dsps(5, 18, 4, "DSP48E2") == 36  # a fifth lane needs a second row of slices


def test_pack_dsp_lanes_moves_parallelism_from_simd_to_pe_without_slowing_the_layer():
    model = model_of([mvau("wide", 16, 8, simd=8, pe=1)], {"x": ([1, 4, 4, 16], "UINT4"), "m": ([1, 4, 4, 8], "INT16")},
                     {"w": (16, 8, 4)})
    before = exp_cycles(model)["wide"]
    assert pack_dsp_lanes(model, BOARD.part, WMAX) == ["wide"]
    simd, pe = attrs(model, "wide", "SIMD", "PE")
    assert exp_cycles(model)["wide"] <= before and 16 % simd == 0 and 8 % pe == 0 and simd < 16
    assert mvau_dsps(pe, simd, 4, "DSP48E2") == 2 < mvau_dsps(1, 8, 4, "DSP48E2")  # 8 -> 2 slices, same speed
    assert pack_dsp_lanes(model, BOARD.part, WMAX) == []  # nothing cheaper left


def upsampler(simd=1):
    node = helper.make_node("UpsampleNearestNeighbour_rtl", ["x"], ["y"], name="up", domain=RTL,
                            backend="fpgadataflow", SIMD=simd, HI=4, WI=4, HO=8, WO=8, NumChannels=8,
                            inputDataType="UINT4", numInputVectors=1)
    return model_of([node], {"x": ([1, 4, 4, 8], "UINT4"), "y": ([1, 8, 8, 8], "UINT4")}, {})


def test_fold_upsamplers_takes_the_smallest_simd_that_meets_the_cycles():
    model = upsampler()
    assert exp_cycles(model)["up"] == 8 * 8 * 8  # SetFolding's state: one channel per beat
    fold_upsamplers(model, 8 * 8 * 2)
    assert attrs(model, "up", "SIMD") == (4,) and exp_cycles(model)["up"] == 8 * 8 * 2
    fold_upsamplers(model, 1)  # out of reach: every channel in one beat
    assert attrs(model, "up", "SIMD") == (8,)
    fold_upsamplers(model, 10**9)
    assert attrs(model, "up", "SIMD") == (1,)


def test_weight_memories_go_to_lutram_when_shallow():
    model = four_mvaus()  # "full": 12 x 8 weights at SIMD 12 x PE 2, 4 words deep; "part": 8 x 6 at 4 x 3
    deep = model_of([mvau("deep", 512, 64, simd=2, pe=2)], {"x": ([1, 4, 4, 512], "UINT4"), "m": ([1, 4, 4, 64], "INT16")},
                    {"w": (512, 64, 4)})  # 8192 words deep
    assert place_weight_memories(model) == ["full", "part", "single"]
    assert attrs(model, "full", "ram_style") == ("distributed",) and attrs(model, "one", "ram_style") == ("auto",)
    assert place_weight_memories(deep) == [] and attrs(deep, "deep", "ram_style") == ("block",)
    assert 512 * 64 // 4 > LUTRAM_MAX_DEPTH


def test_thresholds_after_an_mvau_take_its_pe():
    thr = helper.make_node("Thresholding_rtl", ["m", "t"], ["y"], name="thr", domain=RTL, backend="fpgadataflow",
                           NumChannels=8, PE=1, numSteps=1, inputDataType="INT16", weightDataType="INT16",
                           outputDataType="UINT4", numInputVectors=[1, 4, 4], ActVal=0)
    model = model_of([mvau("m0", 12, 8, simd=3, pe=4), thr], {"x": ([1, 4, 4, 12], "UINT4"),
                     "m": ([1, 4, 4, 8], "INT16"), "y": ([1, 4, 4, 8], "UINT4")}, {"w": (12, 8, 4)})
    model.set_initializer("t", np.zeros((8, 1), dtype=np.float32))
    assert match_threshold_pe(model) == ["thr"] and attrs(model, "thr", "PE") == (4,)
    assert match_threshold_pe(model) == []  # already matched: no width converter between them


def test_simd_equals_mw_refold_keeps_a_whole_ratio_to_its_producers_beats():
    # the producer emits 4 elements a beat: SIMD 3 or 6 would need a converter of no whole ratio (slow, and FINN
    # gives converters no cycles), so the refold picks among 1, 2, 4 (and 12, excluded: = MW)
    feed = mvau("feed", 8, 12, simd=4, pe=4, ins=("x", "w0"), out="h0")  # 4 outputs (PE) a beat
    full = mvau("full", 12, 8, simd=12, pe=2, ins=("h0", "w1"), out="y")
    model = model_of([feed, full], {"x": ([1, 4, 4, 8], "UINT4"), "h0": ([1, 4, 4, 12], "UINT4"),
                                    "y": ([1, 4, 4, 8], "INT16")}, {"w0": (8, 12, 4), "w1": (12, 8, 4)})
    assert avoid_simd_equals_mw(model, WMAX) == ["full"]
    simd, _ = attrs(model, "full", "SIMD", "PE")
    assert simd in (1, 2, 4) and (simd % 4 == 0 or 4 % simd == 0)


def padding(name, ins, out, simd, channels=48, dim=4):
    return helper.make_node("FMPadding_rtl", [ins], [out], name=name, domain=RTL, backend="fpgadataflow",
                            ImgDim=[dim, dim], Padding=[1, 1, 1, 1], NumChannels=channels, SIMD=simd,
                            inputDataType="UINT4", numInputVectors=1)


def test_streams_of_no_whole_ratio_are_refolded_on_the_stream_layer_side():
    # 4 elements a beat into 3 (the level-0 decoder concat into its padding): a converter FINN gives no cycles,
    # 1.5x slower than its output side in Verilator. The padding takes 4: the smallest larger SIMD that divides
    # its 48 channels and is of a whole ratio to both neighbours (4 and 12)
    nodes = [padding("pad_a", "x", "a", 4, dim=2), padding("pad_b", "a", "b", 3, dim=4),
             padding("pad_c", "b", "y", 12, dim=6)]
    tensors = {"x": ([1, 2, 2, 48], "UINT4"), "a": ([1, 4, 4, 48], "UINT4"), "b": ([1, 6, 6, 48], "UINT4"),
               "y": ([1, 8, 8, 48], "UINT4")}
    model = model_of(nodes, tensors, {})
    before = exp_cycles(model)["pad_b"]
    assert whole_ratio_streams(model) == ["pad_b"]
    assert attrs(model, "pad_b", "SIMD") == (4,) and exp_cycles(model)["pad_b"] < before
    assert whole_ratio_streams(model) == []  # every ratio whole now

    # the consumer is an MVAU (not refolded): the padding before it takes the SIMD instead, and a ratio that was
    # whole on its other side (its producer's 2 elements a beat) stays whole: 5 -> 8, the next divisor of 40
    feed = padding("feed", "x", "a", 2, channels=40, dim=2)
    pad = padding("pad", "a", "p", 5, channels=40, dim=4)
    mv = mvau("mv", 40, 8, simd=8, pe=1, ins=("p", "w"), out="y")
    model = model_of([feed, pad, mv], {"x": ([1, 2, 2, 40], "UINT4"), "a": ([1, 4, 4, 40], "UINT4"),
                                      "p": ([1, 6, 6, 40], "UINT4"), "y": ([1, 6, 6, 8], "INT16")},
                     {"w": (40, 8, 4)})
    assert whole_ratio_streams(model) == ["pad"] and attrs(model, "pad", "SIMD") == (8,)
    assert attrs(model, "mv", "SIMD", "PE") == (8, 1)


def window_generator(name, ins, out, channels, dim, k, stride, simd, depthwise):
    return helper.make_node("ConvolutionInputGenerator_rtl", [ins], [out], name=name, domain=RTL,
                            backend="fpgadataflow", ConvKernelDim=[k, k], Dilation=[1, 1], IFMChannels=channels,
                            IFMDim=[dim, dim], OFMDim=[(dim - k) // stride + 1] * 2, SIMD=simd, Stride=[stride, stride],
                            depthwise=depthwise, inputDataType="UINT4", outputDataType="UINT4", is1D=0,
                            parallel_window=0, ram_style="distributed")


def test_deep_narrow_window_buffers_go_to_block_ram():
    from hw.resources import layer_resources, lutram_luts, window_buffer

    pynq = get_board("Pynq-Z1").part
    # the three-level Pynq student's pooling window (two rows of 256 pixels x 16 channels, one a beat): 1 024 LUTs
    # of LUTRAM on a 7-series part (Yosys: 1 024) or 2 BRAM_18K; a 3x3 window over 96 channels at 2 a beat: 2 376
    # LUTs (Yosys: 2 376) or 8 BRAM_18K, under 500 LUTs a block
    pool = window_generator("pool", "x", "p", 16, 256, 2, 2, 1, 1)
    conv = window_generator("conv", "p", "y", 96, 130, 3, 1, 2, 0)
    model = model_of([pool, conv], {"x": ([1, 256, 256, 16], "UINT4"), "p": ([1, 128, 128, 64], "UINT4"),
                                    "y": ([1, 128, 128, 864], "UINT4")}, {})
    assert [lutram_luts(*window_buffer(getCustomOp(n)), pynq) for n in model.graph.node] == [1024, 2376]
    before = layer_resources(model, pynq)
    assert place_window_buffers(model, pynq) == ["pool"]
    assert attrs(model, "pool", "ram_style") == ("block",) and attrs(model, "conv", "ram_style") == ("distributed",)
    after = layer_resources(model, pynq)
    assert round(before["pool"]["LUT"] - after["pool"]["LUT"]) == 1024 and after["pool"]["BRAM_18K"] == 2
    assert after["conv"] == before["conv"]
