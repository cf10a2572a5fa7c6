"""hw.fifo_sizing on small synthetic graphs (no FINN build): where a graph forks and joins, which FIFOs can deadlock
it, the depth rule, the settings, why an accelerator cannot run end to end, and (marked hil) the whole sizing of a
tiny all-RTL diamond whose two branches differ in latency by two pixel rows.

The diamond, UINT4 pixels (1, 4, 4, 4):

    x -> FIFO_0 -> Dup -+-> FIFO_1 -> SWG (2x2, stride 2) -> Pool (max) -> Upsample x2 -> FIFO_2 -+-> AbsDiff -> FIFO_4 -> y
                        +-> FIFO_3 -------------------------------------------------------------+

The upper branch holds its first output back until it has seen two rows, so FINN's depth-2 FIFO_3 fills up and
stops the fork: a deadlock that sizing must find and cure.
"""

import json

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from hw.fifo_sizing import (FifoSizing, SizingError, SizingSettings, _depths, branch_fifos, branches, fifo_nodes,
                            random_frames, size_fifos, why_not_end_to_end)
from hw.finn_env import finn_session
from hw.rtl_ops import register

PART = "xczu7ev-ffvc1156-2-e"
RTL = "finn.custom_op.fpgadataflow.rtl"


# -- graph structure: plain nodes, only the wiring matters ------------------------------------------------------
def wiring(edges: list[tuple[str, list[str], list[str]]], inputs=("x",), outputs=("y",), inits=()) -> ModelWrapper:
    """A graph of nodes (name, inputs, outputs); the op type is the name up to its last '_' ("StreamingFIFO_rtl_3")."""
    nodes = [helper.make_node(name.rsplit("_", 1)[0], ins, outs, name=name, domain=RTL) for name, ins, outs in edges]
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1])  # noqa: E731
    model = ModelWrapper(qonnx_make_model(helper.make_graph(nodes, "g", [vi(i) for i in inputs],
                                                            [vi(o) for o in outputs])))
    for name in inits:
        model.set_initializer(name, np.zeros(1, dtype=np.float32))
    return model


def fifo(k, i, o):
    return (f"StreamingFIFO_rtl_{k}", [i], [o])


DIAMOND = [fifo(0, "x", "a"), ("DuplicateStreams_rtl_0", ["a"], ["b0", "b1"]), fifo(1, "b0", "c0"),
           ("MVAU_rtl_0", ["c0", "w"], ["e0"]), fifo(2, "e0", "f0"), fifo(3, "b1", "f1"),
           ("ElementwiseAbsDiff_rtl_0", ["f0", "f1"], ["g"]), fifo(4, "g", "y")]


def test_a_fork_or_a_join_makes_a_branching_graph():
    assert branches(wiring(DIAMOND, inits=["w"]))
    # an MVAU's weights are a second input but no stream: a chain with one is straight
    chain = [fifo(0, "x", "a"), ("MVAU_rtl_0", ["a", "w"], ["b"]), ("Thresholding_rtl_0", ["b", "t"], ["c"]),
             fifo(1, "c", "y")]
    assert not branches(wiring(chain, inits=["w", "t"]))
    # a fork alone (two graph outputs), and a join of two graph inputs, each branch
    assert branches(wiring([("DuplicateStreams_rtl_0", ["x"], ["y", "z"])], outputs=("y", "z")))
    assert branches(wiring([("ElementwiseAbsDiff_rtl_0", ["x", "z"], ["y"])], inputs=("x", "z")))


def test_branch_fifos_lie_between_a_fork_and_a_join():
    model = wiring(DIAMOND, inits=["w"])
    assert [n.name for n in fifo_nodes(model)] == [f"StreamingFIFO_rtl_{k}" for k in range(5)]
    # FIFO_0 (before the fork) and FIFO_4 (after the join) sit on straight chains
    assert branch_fifos(model) == {"StreamingFIFO_rtl_1", "StreamingFIFO_rtl_2", "StreamingFIFO_rtl_3"}


def test_no_branch_fifos_without_both_a_fork_and_a_join():
    # a fork whose streams leave the graph separately cannot deadlock inside it
    forked = wiring([fifo(0, "x", "a"), ("DuplicateStreams_rtl_0", ["a"], ["b0", "b1"]), fifo(1, "b0", "y"),
                     fifo(2, "b1", "z")], outputs=("y", "z"))
    assert branches(forked) and branch_fifos(forked) == set()
    # two inputs joined (the host feeds each stream): no fork, nothing to deadlock
    joined = wiring([fifo(0, "x", "a"), fifo(1, "z", "b"), ("ElementwiseAbsDiff_rtl_0", ["a", "b"], ["y"])],
                    inputs=("x", "z"))
    assert branches(joined) and branch_fifos(joined) == set()


def test_nested_forks_put_every_inner_fifo_on_a_branch():
    """A U-Net level inside another: the outer skip FIFO and everything on the inner diamond are branch FIFOs."""
    edges = [fifo(0, "x", "a"), ("DuplicateStreams_rtl_0", ["a"], ["s", "i"]), fifo(1, "s", "s2"),
             fifo(2, "i", "i2"), ("DuplicateStreams_rtl_1", ["i2"], ["u", "v"]), fifo(3, "u", "u2"), fifo(4, "v", "v2"),
             ("StreamingConcat_rtl_0", ["u2", "v2"], ["j"]), fifo(5, "j", "j2"),
             ("StreamingConcat_rtl_1", ["s2", "j2"], ["k"]), fifo(6, "k", "y")]
    assert branch_fifos(wiring(edges)) == {f"StreamingFIFO_rtl_{k}" for k in range(1, 6)}


def test_fifo_nodes_are_every_streaming_fifo_in_graph_order():
    model = wiring([("StreamingFIFO_hls_5", ["x"], ["a"]), ("StreamingDataWidthConverter_rtl_0", ["a"], ["b"]),
                    fifo(2, "b", "y")])
    assert [n.name for n in fifo_nodes(model)] == ["StreamingFIFO_hls_5", "StreamingFIFO_rtl_2"]


# -- the depth rule and the settings ---------------------------------------------------------------------------
def test_depths_scale_the_occupancy_and_never_go_below_finns():
    occ = {"a": 100, "b": 5, "c": 0, "d": 40}
    floor = {"a": 2, "b": 2, "c": 2, "d": 32}
    assert _depths(occ, floor, 1.0, 2) == {"a": 102, "b": 7, "c": 2, "d": 42}
    assert _depths(occ, floor, 0.5, 2) == {"a": 52, "b": 5, "c": 2, "d": 32}  # ceil(2.5) + 2 = 5; d keeps FINN's 32
    assert _depths(occ, floor, 0.01, 0) == {"a": 2, "b": 2, "c": 2, "d": 32}  # ceil(1.0) = 1 is below FINN's 2
    assert _depths(occ, floor, 1.0, 2, shallow={"a"}) == {"a": 2, "b": 7, "c": 2, "d": 42}  # straight: FINN's depth


def test_sizing_modes():
    assert [m.value for m in FifoSizing] == ["rate", "search", "room", "off"]
    assert FifoSizing("room") is FifoSizing.ROOM and FifoSizing.OFF == "off"
    with pytest.raises(ValueError):
        FifoSizing("fast")


def test_sizing_settings():
    default = SizingSettings()
    assert default.mode is FifoSizing.RATE and default.rate and not default.search and default.frames == 2
    assert default.band_rows == 64 and default.pace_slack > 1
    assert not SizingSettings(FifoSizing.ROOM).search
    assert not SizingSettings("room").search and SizingSettings("search").search  # the flow passes the mode as given
    with pytest.raises(SizingError, match="at least two frames"):
        SizingSettings(frames=1)
    with pytest.raises(SizingError, match="mode 'fast': choose one of rate, search, room, off"):
        SizingSettings(mode="fast")
    assert SizingSettings("room").mode is FifoSizing.ROOM
    with pytest.raises(AttributeError):  # frozen: the defaults of size_fifos are shared
        default.frames = 3


# -- a real (tiny) accelerator ---------------------------------------------------------------------------------
SHAPE = [1, 4, 4, 4]
POOLED = [1, 2, 2, 4]


def _layer(op, ins, outs, name, **attrs):
    return helper.make_node(op, ins, outs, name=name, domain=RTL if op.endswith("_rtl") else RTL[:-4] + ".hls",
                            backend="fpgadataflow", **attrs)


def diamond_build(write, root, upsample: str = "rtl", sized: bool | None = None):
    """The module docstring's diamond as a build folder (intermediate/08_codegen.onnx, hdl/<node>/, finn_tmp/ as the
    flow leaves them); `upsample`: the backend of the upsampler ("hls": no RTL); `sized`: write a summary.json saying
    whether the FIFOs were sized (None: no summary)."""
    register()
    dt = "UINT4"

    def fifo_node(k, i, o, shape):
        return _layer("StreamingFIFO_rtl", [i], [o], f"StreamingFIFO_rtl_{k}", depth=2, normal_shape=shape,
                      folded_shape=shape[:-1] + [2, 2], dataType=dt, ram_style="auto")

    nodes = [
        fifo_node(0, "x", "a", SHAPE),
        _layer("DuplicateStreams_rtl", ["a"], ["b0", "b1"], "DuplicateStreams_rtl_0", NumChannels=4, PE=2,
               NumOutputStreams=2, inputDataType=dt, numInputVectors=[1, 4, 4]),
        fifo_node(1, "b0", "c", SHAPE),
        _layer("ConvolutionInputGenerator_rtl", ["c"], ["w"], "ConvolutionInputGenerator_rtl_0", ConvKernelDim=[2, 2],
               IFMChannels=4, IFMDim=[4, 4], OFMDim=[2, 2], SIMD=2, Stride=[2, 2], Dilation=[1, 1], depthwise=1,
               inputDataType=dt, outputDataType=dt),
        _layer("Pool_rtl", ["w"], ["p"], "Pool_rtl_0", Channels=4, PE=2, KernelSize=[2, 2], Function="MaxPool",
               OutImgDims=[2, 2], InputDataType=dt, OutputDataType=dt),
        _layer(f"UpsampleNearestNeighbour_{upsample}", ["p"], ["u"], f"UpsampleNearestNeighbour_{upsample}_0", HI=2,
               WI=2, HO=4, WO=4, NumChannels=4, SIMD=2, inputDataType=dt),
        fifo_node(2, "u", "f0", SHAPE),
        fifo_node(3, "b1", "f1", SHAPE),
        _layer("ElementwiseAbsDiff_rtl", ["f0", "f1"], ["g"], "ElementwiseAbsDiff_rtl_0", lhs_dtype=dt, rhs_dtype=dt,
               out_dtype="UINT5", lhs_shape=SHAPE, rhs_shape=SHAPE, out_shape=SHAPE, PE=2, lhs_style="input",
               rhs_style="input"),
        _layer("StreamingFIFO_rtl", ["g"], ["y"], "StreamingFIFO_rtl_4", depth=2, normal_shape=SHAPE,
               folded_shape=SHAPE[:-1] + [2, 2], dataType="UINT5", ram_style="auto"),
    ]
    shapes = dict.fromkeys(["x", "a", "b0", "b1", "c", "u", "f0", "f1", "g", "y"], SHAPE) | {
        "w": [1, 2, 2, 16], "p": POOLED}
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n])  # noqa: E731
    model = ModelWrapper(qonnx_make_model(helper.make_graph(nodes, "diamond", [vi("x")], [vi("y")])))
    for name, shape in shapes.items():
        model.set_tensor_shape(name, shape)
        model.set_tensor_datatype(name, DataType["UINT5" if name in ("g", "y") else dt])
    build = write(model, root, PART)  # the codegen_build fixture of conftest.py
    if sized is not None:
        (build / "summary.json").write_text(json.dumps({"fifo_sizing": {"sized": sized}}))
    return build


def test_why_not_end_to_end(tmp_path, codegen_build):
    from hw.rtlsim.accelerator import Accelerator

    assert branch_fifos(Accelerator(diamond_build(codegen_build, tmp_path / "a")).model) == {
        "StreamingFIFO_rtl_1", "StreamingFIFO_rtl_2", "StreamingFIFO_rtl_3"}
    why = why_not_end_to_end(Accelerator(diamond_build(codegen_build, tmp_path / "a2")))
    assert why == "a branching graph with FINN's unsized FIFOs (built with --fifo-sizing off)"
    assert "unsized" in why_not_end_to_end(Accelerator(diamond_build(codegen_build, tmp_path / "b", sized=False)))
    assert why_not_end_to_end(Accelerator(diamond_build(codegen_build, tmp_path / "c", sized=True))) is None
    why = why_not_end_to_end(Accelerator(diamond_build(codegen_build, tmp_path / "d", upsample="hls", sized=True)))
    assert why == "1 layers without an RTL backend (e.g. UpsampleNearestNeighbour_hls_0)"


def test_random_frames_fit_each_input_stream(tmp_path, codegen_build):
    """Synthetic stimulus: integers of the input datatype, the shape the first layer takes, reproducible by seed."""
    from hw.rtlsim.accelerator import Accelerator

    acc = Accelerator(diamond_build(codegen_build, tmp_path))
    frames = random_frames(acc, 3, seed=7)
    assert len(frames) == 3 and all(len(f) == 1 for f in frames)
    x = np.stack([f[0] for f in frames])
    assert x.shape == (3, *SHAPE) and x.min() >= 0 and x.max() <= 15 and np.array_equal(x, np.round(x))
    assert len(np.unique(x)) == 16  # the whole UINT4 range turns up in 192 draws
    assert not np.array_equal(frames[0][0], frames[1][0])
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(frames, random_frames(acc, 3, seed=7)))


@pytest.mark.hil
def test_size_fifos_cures_the_deadlock_of_a_tiny_diamond(tmp_path, sim_cache, codegen_build):
    """The whole search in Verilator (two small compiles): FINN's depths deadlock, the sized design streams two frames
    under stalls, the short branch gets the depth, the straight chains keep FINN's."""
    build = diamond_build(codegen_build, tmp_path)
    from hw.buildfolder import BuildFolder

    model = ModelWrapper(str(BuildFolder(build, must_exist=False).generated_model()))
    with finn_session(build / "finn_tmp"):
        record = size_fifos(model, build, PART, 5.0, SizingSettings(FifoSizing.SEARCH, steps=4), cache=sim_cache)
    rows = {r["fifo"]: r for r in record["fifos"]}
    runs = {r["what"]: r for r in record["runs"]}
    assert record["finn_depths"] == "deadlock" and runs["FINN's depths"]["outcome"] == "deadlock"
    assert {n for n, r in rows.items() if r["branch"]} == {"StreamingFIFO_rtl_1", "StreamingFIFO_rtl_2",
                                                            "StreamingFIFO_rtl_3"}
    # the long way round holds its first output back for more than a row (4 pixels, 8 beats): the direct branch
    # buffers them
    assert rows["StreamingFIFO_rtl_3"]["occupancy"] >= 8 and rows["StreamingFIFO_rtl_3"]["depth"] > 8
    # the factors: the chosen one at full speed, a smaller one slower, a smaller one still that deadlocks
    factor, slower, dead = record["factor"], record["slower_factor"], record["deadlock_factor"]
    assert 0 < dead < slower < factor <= 1
    first = runs["room for everything"]
    by_factor = {r["factor"]: r for r in record["runs"] if "factor" in r}
    assert by_factor[factor]["interval"] <= 1.05 * first["interval"] < by_factor[slower]["interval"]
    assert by_factor[dead]["outcome"] == "deadlock"
    # every depth follows the rule; the straight chains keep FINN's depth exactly when that costs no speed
    straight = runs["straight chains at FINN's depth"]
    at_finn = straight["outcome"] == "ok" and straight["interval"] <= 1.05 * first["interval"]
    for name, r in rows.items():
        scaled = max(2, int(np.ceil(factor * r["occupancy"])) + 2)
        assert r["finn_depth"] == 2 and r["depth"] == (2 if at_finn and not r["branch"] else scaled), r
    assert record["deep"] == sum(r["depth"] > 2 for r in rows.values()) >= 1
    assert record["total"]["bits"] == sum(r["depth"] * r["width"] for r in rows.values())
    proofs = [r for r in record["runs"] if r.get("proof")]
    assert len(proofs) == 2 and all(r["outcome"] == "ok" for r in proofs)
    # the model now holds the chosen depths, and hdl/ their regenerated wrappers
    depths = {n.name: getCustomOp(n).get_nodeattr("depth") for n in fifo_nodes(model)}
    assert depths == {n: r["depth"] for n, r in rows.items()}
    wrapper = (build / "hdl" / "StreamingFIFO_rtl_3" / "StreamingFIFO_rtl_3.v").read_text()
    assert f".DEPTH({rows['StreamingFIFO_rtl_3']['depth']})" in wrapper


@pytest.mark.hil
def test_rate_sizing_paces_the_sources_and_proves_the_depths_capped(tmp_path, sim_cache, codegen_build):
    """The default sizing on the diamond: one run with room everywhere and the source paced at the frame rate, the
    depths its occupancy + 2, then one run capped there, free-running under 30/30 % stalls, that must not stall."""
    build = diamond_build(codegen_build, tmp_path)
    from hw.buildfolder import BuildFolder

    model = ModelWrapper(str(BuildFolder(build, must_exist=False).generated_model()))
    with finn_session(build / "finn_tmp"):
        record = size_fifos(model, build, PART, 5.0, SizingSettings(), cache=sim_cache)
    rows = {r["fifo"]: r for r in record["fifos"]}
    assert record["mode"] == "rate" and record["factor"] == 1.0 and record["finn_depths"] == "not run"
    *paced_runs, proof = record["runs"]
    paced = paced_runs[-1]  # a second one paced at the measured interval when the first could not keep up
    assert 1 <= len(paced_runs) <= 3
    assert all(r["what"].startswith("room everywhere, sources paced") and r["outcome"] == "ok" for r in paced_runs)
    assert record["pace_cycles_per_beat"] > 1  # the diamond's slowest layer is slower than one beat per cycle
    # paced, the frames arrive no faster than pace x beats apart
    assert paced["interval"] >= 0.99 * record["pace_cycles_per_beat"] * 32  # 4 x 4 pixels, 2 beats each
    assert proof["stall"] == [0.3, 0.3] and proof["proof"] and proof["outcome"] == "ok"
    assert proof["interval_vs_estimate"] > 0 and proof["interval_vs_paced"] > 0
    for r in rows.values():
        assert r["depth"] == max(2, r["occupancy"] + 2)
    # the direct branch waits for the long way round (more than a row: 4 pixels, 8 beats)
    assert rows["StreamingFIFO_rtl_3"]["occupancy"] >= 8
    depths = {n.name: getCustomOp(n).get_nodeattr("depth") for n in fifo_nodes(model)}
    assert depths == {n: r["depth"] for n, r in rows.items()}


def test_chosen_styles_keep_finns_auto_but_avoid_uram_where_it_is_missing_or_slow():
    from hw.fifo_sizing import URAM_FULL_RATE_DEPTH, chosen_styles

    styles = {"small": "auto", "deep": "auto", "huge": "auto", "fixed": "distributed"}
    chosen = {"small": 40, "deep": 5000, "huge": URAM_FULL_RATE_DEPTH + 1, "fixed": 5000}
    assert chosen_styles(styles, chosen, uram=True) == {"small": "auto", "deep": "auto", "huge": "block",
                                                        "fixed": "distributed"}
    # no URAM on the part (Zynq-7000): what fifo.sv would put in URAM goes to block RAM, LUTRAM sizes stay auto
    assert chosen_styles(styles, chosen, uram=False) == {"small": "auto", "deep": "block", "huge": "block",
                                                         "fixed": "distributed"}


def _fifo_line(dtypes: list[str]) -> ModelWrapper:
    """FIFOs in a row, one per datatype (its stream width), named StreamingFIFO_rtl_0, _1, ..."""
    register()
    names = ["x"] + [f"t{k}" for k in range(len(dtypes) - 1)] + ["y"]
    nodes = [_layer("StreamingFIFO_rtl", [names[k]], [names[k + 1]], f"StreamingFIFO_rtl_{k}", depth=2,
                    normal_shape=SHAPE, folded_shape=SHAPE[:-1] + [2, 2], dataType=dt, ram_style="auto")
             for k, dt in enumerate(dtypes)]
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, SHAPE)  # noqa: E731
    return ModelWrapper(qonnx_make_model(helper.make_graph(nodes, "line", [vi("x")], [vi("y")])))


def test_the_band_depths_go_only_to_a_tile_with_the_same_fifos(tmp_path):
    from hw.fifo_sizing import same_fifos

    with finn_session(tmp_path):
        band = {n.name: getCustomOp(n) for n in fifo_nodes(_fifo_line(["UINT4", "UINT5"]))}
        same = same_fifos(band, _fifo_line(["UINT4", "UINT5"]))
        assert sorted(same) == ["StreamingFIFO_rtl_0", "StreamingFIFO_rtl_1"]
        with pytest.raises(SizingError, match="StreamingFIFO_rtl_1"):  # a wider stream: another design
            same_fifos(band, _fifo_line(["UINT4", "UINT12"]))
        with pytest.raises(SizingError, match="StreamingFIFO_rtl_2"):  # one FIFO more
            same_fifos(band, _fifo_line(["UINT4", "UINT5", "UINT5"]))


def test_window_fifos_are_those_after_a_generator_that_repeats_pixels(tmp_path):
    from hw.fifo_sizing import window_fifos

    def swg(name, i, o, k, s):
        return _layer("ConvolutionInputGenerator_rtl", [i], [o], name, ConvKernelDim=[k, k], Stride=[s, s])

    def fifo_node(k, i, o, normal, folded):
        return _layer("StreamingFIFO_rtl", [i], [o], f"StreamingFIFO_rtl_{k}", depth=2, normal_shape=normal,
                      folded_shape=folded, dataType="UINT4", ram_style="auto")

    register()
    nodes = [swg("ConvolutionInputGenerator_rtl_0", "x", "a", 3, 1),        # 3x3 windows, stride 1
             fifo_node(0, "a", "b", [1, 4, 4, 36], [1, 4, 4, 9, 4]),        # 9 beats a window
             _layer("StreamingDataWidthConverter_rtl", ["b"], ["c"], "StreamingDataWidthConverter_rtl_0"),
             fifo_node(1, "c", "d", [1, 4, 4, 36], [1, 4, 4, 3, 12]),       # 3 beats a window
             _layer("MVAU_rtl", ["d"], ["e"], "MVAU_rtl_0"),
             fifo_node(2, "e", "f", [1, 4, 4, 4], [1, 4, 4, 1, 4]),          # after the MVAU: not a window FIFO
             swg("ConvolutionInputGenerator_rtl_1", "f", "g", 2, 2),        # pooling windows repeat no pixel
             fifo_node(3, "g", "h", [1, 2, 2, 16], [1, 2, 2, 4, 4]),
             _layer("Pool_rtl", ["h"], ["y"], "Pool_rtl_0")]
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1])  # noqa: E731
    model = ModelWrapper(qonnx_make_model(helper.make_graph(nodes, "windows", [vi("x")], [vi("y")])))
    with finn_session(tmp_path):
        assert window_fifos(model) == {"StreamingFIFO_rtl_0": 9, "StreamingFIFO_rtl_1": 3}
