"""frd-q verify: every level agrees on real tiles, and deliberate faults are caught and named by layer."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from sim.faults import flip_weight_bit, shift_hw_threshold, shift_threshold
from sim.verify import markdown, verify

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def level(report, name):
    return next(r for r in report["levels"] if r["level"] == name)


@pytest.fixture(scope="module")
def early_report(early_build, real_cd, sim_cache):
    out, _ = early_build
    return verify(out, real_cd, limit=2, cache=sim_cache)


@pytest.mark.hil
def test_every_level_agrees_on_real_tiles(early_report):
    assert [r["level"] for r in early_report["levels"]] == ["torch", "qonnx", "streamlined", "hw", "rtl"]
    for r in early_report["levels"]:
        assert r["tiles"] == 2 and r["elements"] > 0, r
        assert r["mismatches"] == 0 and r["first_layer"] is None, r
    assert early_report["rtl"]["end_to_end"] and early_report["rtl"]["python_only"] == []
    assert "| rtl: RTL simulation (Verilator) | 2 |" in markdown(early_report)


@pytest.fixture
def broken(tmp_path, early_build):
    out, _ = early_build
    dst = tmp_path / "broken"
    shutil.copytree(out, dst, ignore=shutil.ignore_patterns("sim"))
    return dst


@pytest.mark.hil
def test_a_flipped_weight_bit_is_named_by_its_layer(broken, real_cd, sim_cache):
    fault = flip_weight_bit(broken, "MVAU_rtl_1", word=3, bit=2)
    assert fault["before"] != fault["after"]
    report = verify(broken, real_cd, limit=1, levels=("torch", "hw", "rtl"), cache=sim_cache)
    assert level(report, "hw")["mismatches"] == 0  # the python graph still holds the right weights
    rtl = level(report, "rtl")
    assert rtl["mismatches"] > 0
    assert rtl["first_layer"]["layer"] == "MVAU_rtl_1" and rtl["first_layer"]["tie"] is False


def _threshold_hits(build, real_cd, index, width=1):
    """hits[c, k]: how many inputs of channel c of the index-th Thresholding layer of the hardware graph lie in
    [threshold k, threshold k + width) on the first real tile: raising that threshold by `width` changes them."""
    from qonnx.core.modelwrapper import ModelWrapper

    from frd_q.config import DataSource
    from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
    from frd_q.export.qonnx import graph_feed
    from hw.buildfolder import BuildFolder
    from hw.execute import execute

    model = ModelWrapper(str(BuildFolder(build).partition_model()))
    node = [n for n in model.graph.node if n.op_type == "Thresholding"][index]
    _, a, b = next(iter_tiles(load_pairs(scan_root(DataSource(root=str(real_cd)))), 256))
    ctx = execute(model, graph_feed(model, a, b), keep_all=True)
    x, t = ctx[node.input[0]], model.get_initializer(node.input[1])
    x = x.reshape(-1, t.shape[0])[:, :, None]
    return ((x >= t[None]) & (x < t[None] + width)).sum(axis=0)


@pytest.mark.hil
def test_an_off_by_one_threshold_is_named_by_its_layer(broken, real_cd, sim_cache):
    hits = _threshold_hits(broken, real_cd, 1)
    channel, index = np.unravel_index(hits.argmax(), hits.shape)
    assert hits[channel, index] > 0  # some input sits exactly on that threshold: moving it by one must show
    shift_threshold(broken, "Thresholding_rtl_1", channel=int(channel), index=int(index), delta=1)
    report = verify(broken, real_cd, limit=1, levels=("torch", "rtl"), cache=sim_cache)
    rtl = level(report, "rtl")
    assert rtl["mismatches"] > 0
    found = rtl["first_layer"]
    assert found["layer"] == "Thresholding_rtl_1" and found["max_abs_diff"] == 1 and found["tie"] is False


def test_a_fault_in_the_hardware_graph_is_named_against_the_streamlined_graph(broken, real_cd, sim_cache):
    # a channel some of whose inputs sit within 3 of a threshold (which channel depends on the trained weights)
    hits = _threshold_hits(broken, real_cd, 2, width=3).sum(axis=1)
    channel = int(hits.argmax())
    assert hits[channel] > 0
    shift_hw_threshold(broken, 2, channel=channel, delta=3)
    report = verify(broken, real_cd, limit=1, levels=("torch", "streamlined", "hw"), cache=sim_cache)
    assert level(report, "streamlined")["mismatches"] == 0
    hw = level(report, "hw")
    assert hw["first_layer"]["layer"] == "Thresholding_2"
    assert hw["first_layer"]["reference_layer"].startswith("MultiThreshold")


@pytest.mark.hil
@pytest.mark.slow
def test_siamese_student_every_rtl_layer_agrees(siamese_build, real_cd, sim_cache):
    out, _ = siamese_build
    report = verify(out, real_cd, limit=1, cache=sim_cache)
    for r in report["levels"]:
        assert r["mismatches"] == 0 and r["first_layer"] is None, r
    rtl = report["rtl"]
    # all RTL, but FINN's unsized FIFOs would deadlock the branching graph: simulated chain by chain
    assert not rtl["end_to_end"] and rtl["chains"] > 1 and rtl["python_only"] == []
    assert rtl["rtl_layers"] > 100


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "frd_q.apps.cli", *args], cwd=REPO, capture_output=True, text=True)


def test_verify_cli_reports_bad_input_with_one_line(tmp_path, early_build):
    r = run_cli("verify", "--build", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "summary.json" in r.stderr and "Traceback" not in r.stderr
    out, _ = early_build
    r = run_cli("verify", "--build", str(out), "--levels", "torch,gates")
    assert r.returncode == 2 and "unknown levels ['gates']" in r.stderr


def test_verify_cli_writes_the_report(tmp_path, early_build, real_cd):
    out, _ = early_build
    r = run_cli("verify", "--build", str(out), "--data", str(real_cd), "--limit", "1", "--levels", "torch,qonnx,hw",
                "--report", str(tmp_path / "rep"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "| hw: FINN hardware-layer graph (python execution) | 1 |" in (tmp_path / "rep.md").read_text()
    assert (tmp_path / "rep.json").is_file()


def test_threshold_slots_follow_the_search_tree():
    from sim.faults import threshold_slot

    assert threshold_slot(7, 15) == (0, 0)
    assert [threshold_slot(k, 15) for k in (3, 11)] == [(1, 0), (1, 1)]
    assert [threshold_slot(k, 15)[1] for k in (0, 2, 4, 14)] == [0, 1, 2, 7]
    assert {threshold_slot(k, 15)[0] for k in range(0, 15, 2)} == {3}


def test_a_fault_in_the_streamlined_graph_is_named_against_the_qonnx_activations(broken, real_cd, sim_cache):
    from sim.faults import shift_streamlined_threshold

    shift_streamlined_threshold(broken, 3, channel=1, delta=40.0)
    report = verify(broken, real_cd, limit=1, levels=("torch", "qonnx", "streamlined"), cache=sim_cache)
    assert level(report, "qonnx")["mismatches"] == 0
    found = level(report, "streamlined")["first_layer"]
    assert found["layer"] == "MultiThreshold_3" and found["reference_layer"].startswith("Quant")
    assert found["tie"] is False


def test_threshold_gap_tells_a_tie_from_a_fault():
    from onnx import TensorProto, helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.basic import qonnx_make_model

    from sim.bisect import TIE_GAP, threshold_gap

    node = helper.make_node("MultiThreshold", ["x", "t"], ["y"], domain="qonnx.custom_op.general")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    model = ModelWrapper(qonnx_make_model(graph))
    model.set_initializer("t", np.array([[1.5, 3.0], [10.0, 20.0]], dtype=np.float32))
    x = np.array([[3.0004, 14.0]])
    assert threshold_gap(model, node, x, np.array([[True, False]])) < TIE_GAP  # 3.0004 vs threshold 3.0
    assert threshold_gap(model, node, x, np.array([[False, True]])) == pytest.approx(4.0)


@pytest.mark.hil
@pytest.mark.slow
def test_siamese_student_flipped_weight_bit_is_named(tmp_path, siamese_build, real_cd, sim_cache):
    out, _ = siamese_build
    broken = tmp_path / "broken_siamese"
    shutil.copytree(out, broken, ignore=shutil.ignore_patterns("sim"))
    # the first convolution of one date: its inputs are image pixels, never all zero (a deeper layer of a student
    # trained for 4 steps may have dead channels that hide a flipped weight)
    flip_weight_bit(broken, "MVAU_rtl_1", word=1, bit=1)
    report = verify(broken, real_cd, limit=1, levels=("torch", "hw", "rtl"), cache=sim_cache)
    assert level(report, "hw")["mismatches"] == 0
    rtl = level(report, "rtl")
    assert rtl["mismatches"] > 0 and rtl["first_layer"]["layer"] == "MVAU_rtl_1"


@pytest.mark.hil
@pytest.mark.slow
def test_rtl_mvau_with_simd_equal_mw_loses_results_under_backpressure(siamese_build, tmp_path, sim_cache):
    """A real finn-rtllib fault the simulation found: the MVAU output queue is too short when SIMD = MW. frd_q's
    folding avoids SIMD = MW; a folding file that asks for it gets it, and a note."""
    import json

    from hw.finn_env import finn_session
    from hw.flow import BuildConfig, run_flow
    from hw.rtlsim.accelerator import Accelerator
    from hw.rtlsim.verilator import SimError

    built, summary = siamese_build
    assert "mvau_simd_equals_mw" not in summary.folding
    folding = json.loads((built / "folding_config.json").read_text())
    folding["MVAU_rtl_0"].update(SIMD=27, PE=1)  # MW = 3 x 3 x 3: one result per cycle
    (tmp_path / "folding.json").write_text(json.dumps(folding))
    out = tmp_path / "b"
    shutil.copytree(built, out, ignore=shutil.ignore_patterns("sim"))
    summary = run_flow(BuildConfig(checkpoint="unused", board="ZCU104", out=out, folding=tmp_path / "folding.json",
                                   fifo_sizing="off", start_step="folding", stop_step="codegen"),
                       log=lambda *a, **k: None)
    unfolded = summary.folding.get("mvau_simd_equals_mw")
    assert unfolded == ["MVAU_rtl_0"]
    assert any("SIMD = MW" in note for note in summary.notes)
    with finn_session(out / "finn_tmp"):
        acc = Accelerator(out, cache=sim_cache)
        name = unfolded[0]
        inst = acc.insts[name]
        dt = inst.get_input_datatype()
        x = np.random.default_rng(0).integers(dt.min(), dt.max() + 1, size=inst.get_normal_input_shape())
        acc.simulate([name], [x])  # without backpressure the layer is fine
        with pytest.raises(SimError, match="(?s)Overflowing output queue.*SIMD = MW"):
            acc.simulate([name], [x], out_stall=0.6, seed=2)
