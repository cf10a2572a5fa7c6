"""hw.rtlsim.accelerator.Accelerator on a small synthetic code-generated graph (no FINN build): how it cuts the graph
into chains, which tensors enter and leave a chain, the stream order of a depthwise sliding window, how it pairs
the codegen graph with a partition graph, and the packing of AXI-Stream beats.

The synthetic accelerator, UINT4 pixels (1, 4, 4, 4):

    x -> FIFO_0 -> SWG_0 (depthwise 2x2, stride 2, SIMD 2) -> Pool_0 (max) -> Dup_0 -+-> FIFO_1 -+-> AbsDiff_0 -> y
                                                                                     +-> FIFO_2 -+

Its HDL is generated as the flow's codegen step does (FINN's generate_hdl, files copied to hdl/<node>/), which takes
milliseconds. Only the tests marked `hil` compile it with Verilator (two small chains).
"""


import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.basic import qonnx_make_model

from frd_q.errors import ConfigError
from hw.rtl_ops import register
from hw.rtlsim.accelerator import Accelerator, Stream, _stream

PART = "xczu7ev-ffvc1156-2-e"
HW = "finn.custom_op.fpgadataflow"
SWG, POOL, DUP, ABSDIFF = ("ConvolutionInputGenerator_rtl_0", "Pool_rtl_0", "DuplicateStreams_rtl_0",
                           "ElementwiseAbsDiff_rtl_0")
FIFOS = [f"StreamingFIFO_rtl_{k}" for k in range(3)]
PIXEL = [1, 4, 4, 4]
POOLED = [1, 2, 2, 4]
WINDOWS = [1, 2, 2, 16]  #: 2x2 windows of 4 channels per output pixel


def _attrs(op: str) -> dict:
    """The attributes of each layer, shared by its codegen (_rtl / _hls) and partition (no suffix) node."""
    return {
        "ConvolutionInputGenerator": dict(ConvKernelDim=[2, 2], IFMChannels=4, IFMDim=[4, 4], OFMDim=[2, 2], SIMD=2,
                                          Stride=[2, 2], Dilation=[1, 1], depthwise=1, inputDataType="UINT4",
                                          outputDataType="UINT4"),
        "Pool": dict(Channels=4, PE=2, KernelSize=[2, 2], Function="MaxPool", OutImgDims=[2, 2], InputDataType="UINT4",
                     OutputDataType="UINT4"),
        "DuplicateStreams": dict(NumChannels=4, PE=2, NumOutputStreams=2, inputDataType="UINT4",
                                 numInputVectors=[1, 2, 2]),
        "ElementwiseAbsDiff": dict(lhs_dtype="UINT4", rhs_dtype="UINT4", out_dtype="UINT5", lhs_shape=POOLED,
                                   rhs_shape=POOLED, out_shape=POOLED, PE=2, lhs_style="input", rhs_style="input"),
    }[op]


def _model(nodes, prefix: str = "") -> ModelWrapper:
    """A graph of `nodes` from x to y; every tensor gets its shape and datatype (tensor names start with `prefix`)."""
    shapes = {"x": PIXEL, "f0": PIXEL, "w": WINDOWS} | dict.fromkeys(["p", "d0", "d1", "q0", "q1", "y"], POOLED)
    vi = lambda n: helper.make_tensor_value_info(prefix + n, TensorProto.FLOAT, shapes[n])  # noqa: E731
    graph = helper.make_graph(nodes, "g", [vi("x")], [vi("y")])
    model = ModelWrapper(qonnx_make_model(graph))
    produced = {t for n in nodes for t in n.output} | {prefix + "x"}
    for name, shape in shapes.items():
        if prefix + name in produced:
            model.set_tensor_shape(prefix + name, shape)
            model.set_tensor_datatype(prefix + name, DataType["UINT5" if name == "y" else "UINT4"])
    return model


def codegen_model(pool_backend: str = "rtl") -> ModelWrapper:
    def layer(op, ins, outs, backend="rtl"):
        return helper.make_node(f"{op}_{backend}", ins, outs, name=f"{op}_{backend}_0", domain=f"{HW}.{backend}",
                                backend="fpgadataflow", **_attrs(op))

    def fifo(k, i, o, shape):
        return helper.make_node("StreamingFIFO_rtl", [i], [o], name=FIFOS[k], domain=f"{HW}.rtl", backend="fpgadataflow",
                                depth=2, normal_shape=shape, folded_shape=shape[:-1] + [2, 2], dataType="UINT4")

    nodes = [fifo(0, "x", "f0", PIXEL), layer("ConvolutionInputGenerator", ["f0"], ["w"]),
             layer("Pool", ["w"], ["p"], pool_backend), layer("DuplicateStreams", ["p"], ["d0", "d1"]),
             fifo(1, "d0", "q0", POOLED), fifo(2, "d1", "q1", POOLED),
             layer("ElementwiseAbsDiff", ["q0", "q1"], ["y"])]
    return _model(nodes)


def partition_model(ops=("ConvolutionInputGenerator", "Pool", "DuplicateStreams", "ElementwiseAbsDiff")) -> ModelWrapper:
    """The same layers as FINN's python-executable hardware layers, with other node and tensor names (as FINN's passes
    leave them); `ops` drops or reorders layers to make a graph that does not belong to the codegen graph."""
    wiring = {"ConvolutionInputGenerator": (["hw_x"], ["hw_w"]), "Pool": (["hw_w"], ["hw_p"]),
              "DuplicateStreams": (["hw_p"], ["hw_d0", "hw_d1"]), "ElementwiseAbsDiff": (["hw_d0", "hw_d1"], ["hw_y"])}
    nodes = [helper.make_node(op, *wiring[op], name=f"{op}_7", domain=HW, backend="fpgadataflow", **_attrs(op))
             for op in ops]
    return _model(nodes, "hw_")


def synthetic_build(write, root, pool_backend: str = "rtl"):
    """A build folder of the synthetic graph (`write`: the codegen_build fixture of conftest.py)."""
    register()
    return write(codegen_model(pool_backend), root, PART)


@pytest.fixture
def acc(tmp_path, codegen_build):
    return Accelerator(synthetic_build(codegen_build, tmp_path))


def python_context(rng):
    """FINN's python execution of the partition graph on random (synthetic) UINT4 pixels: {tensor: value}."""
    from hw.execute import execute

    x = rng.integers(0, 16, size=PIXEL).astype(np.float32)
    return execute(partition_model(), {"hw_x": x}, keep_all=True)


def test_chains_are_maximal_straight_runs_in_graph_order(acc):
    # the fork ends a chain (two outputs), and the join starts one (two streamed inputs)
    assert acc.chains() == [[FIFOS[0], SWG, POOL, DUP], [FIFOS[1]], [FIFOS[2]], [ABSDIFF]]
    assert acc.hls_layers() == []
    assert sorted(acc.layers) == sorted(acc.nodes)


def test_an_hls_layer_splits_the_chain_and_is_listed(tmp_path, codegen_build):
    acc = Accelerator(synthetic_build(codegen_build, tmp_path, pool_backend="hls"))
    assert acc.hls_layers() == ["Pool_hls_0"]
    assert acc.chains() == [[FIFOS[0], SWG], [DUP], [FIFOS[1]], [FIFOS[2]], [ABSDIFF]]
    with pytest.raises(ConfigError, match="1 layers have no RTL"):
        acc.simulate_graph([[np.zeros(PIXEL, dtype=np.float32)]])


def test_compute_layers_leave_out_fifos_and_width_converters(acc):
    assert acc.compute_layers() == [SWG, POOL, DUP, ABSDIFF]


def test_open_streams_of_chains_and_of_the_whole_graph(acc):
    assert acc.open_streams([FIFOS[0], SWG, POOL, DUP]) == (["x"], ["d0", "d1"])  # both fork outputs leave
    assert acc.open_streams([FIFOS[1]]) == (["d0"], ["q0"])
    assert acc.open_streams([ABSDIFF]) == (["q0", "q1"], ["y"])  # the join's inputs in port order
    assert acc.open_streams([DUP, FIFOS[1], FIFOS[2], ABSDIFF]) == (["p"], ["y"])  # the diamond closes inside
    assert acc.open_streams(list(acc.nodes)) == (["x"], ["y"])


def test_stream_order_of_a_depthwise_window_is_channel_fold_major(acc):
    """FINN's python order per output pixel is (K_H, K_W, C); the RTL streams (C/SIMD, K_H, K_W, SIMD)."""
    kh = kw = 2
    c, simd = 4, 2
    # element (pixel, i, j, ch) holds a distinct code, so the expected order can be written out by hand
    code = lambda p, i, j, ch: 1000 * p + 100 * i + 10 * j + ch  # noqa: E731
    x = np.array([[code(p, i, j, ch) for i in range(kh) for j in range(kw) for ch in range(c)] for p in range(4)],
                 dtype=np.float32).reshape(1, 2, 2, kh * kw * c)
    want = np.array([[code(p, i, j, f * simd + s) for f in range(c // simd) for i in range(kh) for j in range(kw)
                      for s in range(simd)] for p in range(4)], dtype=np.float32).reshape(x.shape)
    got = acc.stream_order(SWG, x)
    assert got.shape == x.shape and np.array_equal(got, want)
    assert not np.array_equal(got, x)
    # other layers, and a sliding window that is not depthwise, stream in the python order
    assert acc.stream_order(POOL, x) is x
    acc.insts[SWG].set_nodeattr("depthwise", 0)
    assert acc.stream_order(SWG, x) is x


def test_reference_maps_partition_tensors_onto_codegen_tensors(acc):
    rng = np.random.default_rng(0)
    ctx = python_context(rng)
    ref = acc.reference(partition_model(), ctx)
    assert set(ref) == {"x", "f0", "w", "p", "d0", "d1", "q0", "q1", "y"}
    assert np.array_equal(ref["x"], ctx["hw_x"]) and np.array_equal(ref["f0"], ctx["hw_x"])  # FIFO passes through
    assert np.array_equal(ref["w"], acc.stream_order(SWG, ctx["hw_w"]))  # the window's output in stream order
    assert not np.array_equal(ref["w"], ctx["hw_w"])
    for cg, hw in [("p", "hw_p"), ("d0", "hw_d0"), ("d1", "hw_d1"), ("q0", "hw_d0"), ("q1", "hw_d1"), ("y", "hw_y")]:
        assert np.array_equal(ref[cg], ctx[hw]), cg
    # the python execution itself is sane: max over each 2x2 window of the pixels
    x = ctx["hw_x"][0]
    assert np.array_equal(ref["p"][0], x.reshape(2, 2, 2, 2, 4).max(axis=(1, 3)))


def test_reference_refuses_graphs_that_do_not_belong_together(acc):
    ctx = python_context(np.random.default_rng(1))
    with pytest.raises(ConfigError, match="partition model has 3 layers, codegen graph 4 compute layers"):
        acc.reference(partition_model(("ConvolutionInputGenerator", "Pool", "DuplicateStreams")), ctx)
    swapped = partition_model(("ConvolutionInputGenerator", "DuplicateStreams", "Pool", "ElementwiseAbsDiff"))
    with pytest.raises(ConfigError, match=r"Pool_rtl_0 \(Pool_rtl\) does not match partition layer DuplicateStreams_7"):
        acc.reference(swapped, ctx)


def test_stream_packs_elements_lsb_first_and_round_trips():
    """Synthetic INT4 values, two per beat in a byte-wide stream."""
    s = Stream(normal=(1, 2, 3, 4), folded=(1, 2, 3, 2, 2), bits=4, signed=True, stream_bits=8)
    assert s.beats == 12
    x = np.random.default_rng(2).integers(-8, 8, size=s.normal)
    words = s.to_beats(x)
    assert words.shape == (12, 1) and words.dtype == np.uint32
    assert words[0, 0] == (int(x.flat[0]) & 15) | ((int(x.flat[1]) & 15) << 4)  # element 0 in the low bits
    back = s.from_beats(words)
    assert back.shape == s.normal and np.array_equal(back, x)
    # bits above the data (an RTL layer may sign-extend into the padding) do not change what is read
    assert np.array_equal(s.from_beats(words | np.uint32(0xFFFFFF00)), x)


def test_stream_of_a_layer_follows_its_folding(acc):
    s = _stream(acc.insts[SWG], "out")
    assert s.normal == (1, 2, 2, 16) and s.folded[-1] == 2 and s.beats == 32
    assert (s.bits, s.signed, s.stream_bits) == (4, False, 8)
    y = _stream(acc.insts[ABSDIFF], "out")
    assert (y.bits, y.signed, y.stream_bits, y.beats) == (5, False, 16, 8)  # 2 x 5 bits padded to 16
    x = np.random.default_rng(3).integers(0, 32, size=y.normal)
    assert np.array_equal(y.from_beats(y.to_beats(x)), x)


@pytest.mark.hil
def test_rtl_chains_agree_with_the_reference(acc, sim_cache):
    """The sliding window alone (whose RTL order `stream_order` describes) and the join, each simulated in Verilator
    on its reference inputs (synthetic pixels), under stalls."""
    acc.cache = sim_cache
    ctx = python_context(np.random.default_rng(4))
    ref = acc.reference(partition_model(), ctx)
    window = acc.check([FIFOS[0], SWG], ref, in_stall=0.3, out_stall=0.3)
    assert window["elements"] == 64 and window["mismatches"] == 0
    assert acc.check([FIFOS[0], SWG], ref | {"w": ctx["hw_w"]})["mismatches"] > 0  # python order is not the RTL's
    # the join on two different streams (the reference feeds it twice the same one): |a - b| in python
    rng = np.random.default_rng(5)
    a, b = (rng.integers(0, 16, size=POOLED).astype(np.float32) for _ in range(2))
    join = acc.check([ABSDIFF], {"q0": a, "q1": b, "y": np.abs(a - b)}, in_stall=0.3, out_stall=0.3)
    assert join["elements"] == 16 and join["mismatches"] == 0 and np.abs(a - b).any()


def test_a_relative_build_path_reaches_verilator_as_absolute_paths(tmp_path, codegen_build, monkeypatch):
    """`frd-q verify --build build/x` passes a relative folder; Verilator and the simulator run in folders of their
    own, so every path the accelerator hands them must be absolute (a relative one failed with "Cannot find file")."""
    synthetic_build(codegen_build, tmp_path)
    monkeypatch.chdir(tmp_path)
    acc = Accelerator("build", cache="cache")
    assert acc.build.is_absolute() and acc.sim_dir.is_absolute() and acc.cache.is_absolute()
    assert acc.build == (tmp_path / "build").resolve()
    sources = [p for layer in acc.layers.values() for p in layer.sources]
    assert sources and all(p.is_absolute() for p in sources)
