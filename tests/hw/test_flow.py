"""The FINN flow end to end on tiny students trained on real pairs, and bit-exactness of its hardware graph."""

import json
import shutil
import subprocess
import sys

import pytest

from frd_q.errors import ConfigError
from sim.check import check_hw_graph
from hw.finn_env import ToolMissing
from hw.flow import BuildConfig, run_flow

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
quiet = lambda *a, **k: None  # noqa: E731


def test_siamese_flow_writes_every_output(siamese_build):
    out, summary = siamese_build
    for name in ("model.onnx", "folding_config.json", "estimates.json", "estimates.md", "summary.json",
                 "time_per_step.json", "dataflow_parent.onnx"):
        assert (out / name).is_file(), name
    for i, step in enumerate(summary.completed):
        assert (out / "intermediate" / f"{i:02d}_{step}.onnx").is_file()
    assert summary.completed[-3:] == ["codegen", "fifo_sizing", "hls_ipgen"]
    assert (out / "model.pt").is_file() and summary.hw_checkpoint.endswith("model.pt")
    assert summary.tie_removal["closest_after"] >= 1 / 40
    if shutil.which("vivado") is None:
        assert summary.stopped_before == "stitched_ip"
    files = (out / "hdl" / "filelist.txt").read_text().split()
    assert files and all((out / "hdl" / f).is_file() for f in files)
    assert any(f.endswith(".sv") or f.endswith(".v") for f in files)
    est = json.loads((out / "estimates.json").read_text())
    assert est["fps"] > 0 and est["total"]["LUT"] > 0 and est["tile"] == 256
    assert est["bottleneck"] in {layer["name"] for layer in est["layers"]}
    assert all(est["utilization"][r] <= 0.9 for r in ("LUT", "BRAM_18K", "DSP"))  # the fastest design that fits
    # FINN's HLS-only stream operators of the Siamese student get frd_q's RTL: no HLS layer is left
    assert est["hls_layers"] == [] and summary.hdl["hls_layers"] == []
    kinds = {n.rsplit("_", 1)[0] for n in summary.hdl["rtl_layers"]}
    assert {"MVAU_rtl", "DuplicateStreams_rtl", "StreamingConcat_rtl", "ElementwiseAbsDiff_rtl", "Pool_rtl",
            "UpsampleNearestNeighbour_rtl"} <= kinds
    assert summary.fifo_sizing == {"sized": False, "reason": "switched off (--fifo-sizing off)"}


def test_early_fusion_student_is_all_rtl(early_build):
    out, summary = early_build
    assert summary.hdl["hls_layers"] == [] and summary.hdl["rtl_layers"]
    assert "hls_ipgen" in summary.completed  # nothing to synthesize with HLS: the step passes without the tool
    if shutil.which("vivado") is None:
        assert summary.stopped_before == "stitched_ip"


@pytest.mark.slow
@pytest.mark.parametrize("which", ["siamese_build", "early_build"])
def test_hw_graph_is_bit_exact_on_every_real_tile(request, real_cd, which):
    out, _ = request.getfixturevalue(which)
    result = check_hw_graph(out, real_cd)
    assert result["tiles"] >= 39  # every 256x256 tile of every pair of ../shared/data/real_cd
    assert result["mismatches"] == 0, result


def test_check_hw_command_prints_tiles_and_exits_by_the_result(early_build, real_cd, tmp_path, capsys):
    from frd_q.apps.cli import main

    out, _ = early_build
    assert main(["check-hw", "--build", str(out), "--data", str(real_cd), "--limit", "2"]) == 0
    assert "2 tiles, " in capsys.readouterr().out
    broken = tmp_path / "broken"
    shutil.copytree(out, broken, ignore=shutil.ignore_patterns("sim"))
    from sim.faults import shift_hw_threshold

    shift_hw_threshold(broken, 0, channel=0, delta=-1000)  # the first thresholds far below every input
    assert main(["check-hw", "--build", str(broken), "--data", str(real_cd), "--limit", "1"]) == 1
    assert main(["check-hw", "--build", str(tmp_path / "none"), "--data", str(real_cd)]) == 2


def test_missing_xilinx_tool_stops_the_step_with_its_name(siamese_build):
    if shutil.which("vivado"):
        pytest.skip("vivado is installed here: the step would run")
    out, _ = siamese_build
    with pytest.raises(ToolMissing, match="vivado"):
        run_flow(BuildConfig(checkpoint="unused", board="ZCU104", out=out, start_step="stitched_ip",
                             stop_step="stitched_ip"), log=quiet)


def test_unreachable_fps_says_which_fps_fits(siamese_build, tmp_path):
    out, _ = siamese_build
    copy = tmp_path / "b"
    shutil.copytree(out, copy)
    summary = run_flow(BuildConfig(checkpoint="unused", board="Pynq-Z1", out=copy, target_fps=1e6,
                                   start_step="folding", stop_step="estimates"), log=quiet)
    folding = summary.folding
    assert folding["fits"] is False
    assert 0 < folding["max_fitting_fps"] < folding["fps"]
    assert any("does not fit" in n for n in summary.notes)


def test_bad_requests_are_one_clear_error(tmp_path, tiny_checkpoint):
    with pytest.raises(ConfigError, match="not a step"):
        BuildConfig(checkpoint=tiny_checkpoint, board="ZCU104", out=tmp_path, start_step="synth")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        run_flow(BuildConfig(checkpoint=tiny_checkpoint, board="ZCU104", out=tmp_path / "x"), log=quiet)
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("args,code,text", [
    (["--board", "list"], 0, "XQRKU060"),
    (["--board", "ZCU999", "--checkpoint", "x.pt"], 2, "unknown board"),
    (["--board", "ZCU104", "--checkpoint", "missing.pt", "--out", "{tmp}/o"], 2, "checkpoint not found"),
])
def test_build_script(tmp_path, args, code, text):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = subprocess.run([sys.executable, str(REPO / "flows" / "build.py"), *args], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == code, r.stderr
    assert text in r.stdout + r.stderr
