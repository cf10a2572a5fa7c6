"""The accuracy-vs-resource sweep and its report: config checks, the point grid, the Pareto rule, and a tiny
real sweep (two points, real pairs, FINN builds for two boards, Yosys on one) that is resumed and reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from frd_q.errors import ConfigError
from frd_q.train.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
from frd_q.apps.report import choose, pareto
from frd_q.apps.sweep import load_sweep, points


def write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


BASE = {"base": "configs/student_w4a4.yaml", "eval": [{"root": "../shared/data/real_cd"}],
        "widths": {"xs": [8, 16], "s": [16, 32]}, "distill": {"none": {}, "frd": {"bfdd": 1.0}},
        "grids": [{"bits": ["w4a4", "w2a2"], "widths": ["xs"], "distill": ["none"]},
                  {"bits": ["w4a4"], "widths": ["xs", "s"], "distill": ["none", "frd"]}],
        "boards": {"ZCU104": 100}, "teacher": "t.pt"}


def test_points_are_the_union_of_the_grids_in_order(tmp_path):
    names = [p.name for p in points(load_sweep(write(tmp_path, BASE)))]
    assert names == ["w4a4-xs-none", "w2a2-xs-none", "w4a4-xs-frd", "w4a4-s-none", "w4a4-s-frd"]
    p = points(load_sweep(write(tmp_path, BASE)))[1]
    assert (p.weight_bits, p.act_bits, p.widths, p.distill) == (2, 2, "xs", "none")


@pytest.mark.parametrize("change, message", [
    ({"grids": [{"bits": ["w4"], "widths": ["xs"], "distill": ["none"]}]}, "bit width 'w4'"),
    ({"grids": [{"bits": ["w4a4"], "widths": ["xl"], "distill": ["none"]}]}, "widths 'xl'"),
    ({"distill": {"none": {}, "frd": {"bfd": 1.0}}}, "unknown loss bfd"),
    ({"teacher": None}, "needs a teacher"),
    ({"synth": ["Pynq-Z1"]}, "synth board Pynq-Z1"),
    ({"boards": {"ZCU999": 10}}, "ZCU999"),
    ({"synth_points": ["w8a8-xs-none"]}, "w8a8-xs-none"),
    ({"stepz": 3}, "stepz"),
    ({"pretrain_steps": 0}, "pretrain_steps must be at least 1"),
    ({"pretrain_bits": "w8"}, "pretrain_bits 'w8'"),
])
def test_bad_sweep_configs_are_one_clear_error(tmp_path, change, message):
    path = write(tmp_path, BASE | change)
    with pytest.raises(ConfigError, match=message) as e:
        load_sweep(path)
    assert str(path) in str(e.value)


def test_pareto_keeps_only_undominated_points():
    pts = [(100, 0.5), (50, 0.4), (200, 0.45), (50, 0.3), (300, 0.6)]
    assert pareto(pts) == [1, 0, 4]  # (50, .4) (100, .5) (300, .6); sorted by cost
    assert pareto([(10, 0.5), (20, 0.5)], minimize_x=False) == [1]


def _record(name, f1, lut, fits=True, fps=100.0):
    return {"point": {"name": name}, "eval": {"f1": f1},
            "boards": {"B": {"fits": fits, "target_fps": 100.0, "estimates": {"fps": fps, "total": {"LUT": lut}}}}}


def test_choice_rule_prefers_fewer_luts_within_the_f1_tie():
    recs = [_record("big", 0.500, 9000), _record("small", 0.497, 3000), _record("huge", 0.6, 1000, fits=False),
            _record("slow", 0.7, 100, fps=50.0)]
    assert choose(recs, "B")["point"]["name"] == "small"  # huge does not fit, slow misses the rate
    assert choose([_record("x", 0.5, 10, fits=False)], "B") is None
    # the same design with and without distillation costs the same: the tie goes to the higher F1, in any order
    twins = [_record("frd", 0.5008, 25085), _record("none", 0.5047, 25085)]
    assert choose(twins, "B")["point"]["name"] == choose(twins[::-1], "B")["point"]["name"] == "none"


def test_a_point_without_its_pretrain_run_is_one_error(tmp_path):
    from frd_q.apps.sweep import run_point

    cfg = load_sweep(write(tmp_path, BASE | {"pretrain_steps": 5, "out_dir": str(tmp_path / "out")}))
    with pytest.raises(ConfigError, match=r"pretrain/xs/train/last.pt: the pretrain run of width xs is missing"):
        run_point(cfg, points(cfg)[0])
    assert not (tmp_path / "out" / "points").exists()


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory, real_cd, tiny_teacher_checkpoint):
    """Two points (one distilled from the tiny teacher), 2 steps each from a 2-step W8A8 pretrain run, 64x64
    builds for ZCU104 and Pynq-Z1, the W4A4 one synthesized with Yosys; run with two processes."""
    from frd_q.apps.sweep import run_sweep

    tmp = tmp_path_factory.mktemp("sweep")
    (tmp / "train.txt").write_text("LEVIR-CD/train_36_0512_0512\n")
    (tmp / "val.txt").write_text("LEVIR-CD/val_27_0000_0256\nLEVIR-CD/test_2_0000_0000\n")
    cfg = {"base": str(REPO / "configs" / "student_w4a4.yaml"), "eval": [{"root": str(real_cd), "list": str(tmp / "val.txt")}],
           "widths": {"xs": [8, 16]}, "distill": {"none": {}, "frd": {"bfdd": 1.0, "ccrd": 0.5}},
           "grids": [{"bits": ["w4a4"], "widths": ["xs"], "distill": ["frd"]},
                     {"bits": ["w2a2"], "widths": ["xs"], "distill": ["none"]}],
           "boards": {"ZCU104": 1000, "Pynq-Z1": 100}, "synth": ["ZCU104"], "synth_points": ["w4a4-xs-frd"],
           "teacher": str(tiny_teacher_checkpoint), "steps": 2, "pretrain_steps": 2, "tile": 64,
           "out_dir": str(tmp / "out"),
           "set": ["data.crop_size=64", "train.batch_size=2", "train.device=cpu",
                   f"data.train=[{{root: {real_cd}, list: {tmp / 'train.txt'}}}]"]}
    path = write(tmp, cfg)
    sweep = load_sweep(path)
    records = run_sweep(sweep, path, jobs=2, log=lambda *a: None)
    return sweep, path, records


@pytest.mark.slow
def test_tiny_sweep_records_every_measure(tiny_sweep):
    sweep, _, records = tiny_sweep
    assert sorted(r["point"]["name"] for r in records) == ["w2a2-xs-none", "w4a4-xs-frd"]
    for r in records:
        assert 0.0 <= r["eval"]["f1"] <= 1.0 and r["eval"]["pairs"] == 2
        assert r["model"]["params"] > 0 and r["model"]["macs_per_tile"] > 0
        for board in ("ZCU104", "Pynq-Z1"):
            est = r["boards"][board]["estimates"]
            assert est["board"] == board and est["tile"] == 64 and est["total"]["LUT"] > 0 and est["fps"] > 0
    w4, w2 = sorted(records, key=lambda r: r["point"]["name"], reverse=True)
    assert w4["model"]["weight_bits"] == 2 * w2["model"]["weight_bits"]  # same layers, 4 vs 2 bits
    assert w4["distill"] == {"bfdd": 1.0, "ccrd": 0.5} and w2["distill"] == {}
    # both fine-tune the one W8A8 pretrain run of their width, each at its own bit widths
    start = Path(sweep.out_dir) / "pretrain" / "xs" / "train" / "last.pt"
    pre = load_checkpoint(start)
    assert pre["step"] == 2 and (pre["config"]["model"]["weight_bits"], pre["config"]["model"]["act_bits"]) == (8, 8)
    for r in records:
        assert r["init_from"] == {"checkpoint": str(start), "steps": 2, "bits": "w8a8"}
        run = load_checkpoint(r["checkpoint"])
        assert run["config"]["train"]["init_from"] == str(start)
        assert run["config"]["model"]["weight_bits"] == r["point"]["weight_bits"]
    assert "synth" not in w2["boards"]["ZCU104"] and "synth" not in w4["boards"]["Pynq-Z1"]
    syn = w4["boards"]["ZCU104"]["synth"]
    assert syn["by_op"]["MVAU_rtl"]["yosys"]["DSP"] > 0  # the 4-bit MVAUs instantiate DSP48E2 slices
    assert syn["by_op"]["Thresholding_rtl"]["yosys"]["LUT"] > 0 and syn["total"]["FF"] > 0
    # every layer of the W4A4 Siamese student is RTL (frd_q's for the stream operators) and synthesized
    assert syn["not_covered_ops"] == [] and syn["by_op"]["DuplicateStreams_rtl"]["yosys"]["FF"] > 0


@pytest.mark.slow
def test_sweep_resumes_only_what_is_missing(tiny_sweep, capsys):
    from frd_q.apps.cli import main

    sweep, path, _ = tiny_sweep
    point = Path(sweep.out_dir) / "points" / "w2a2-xs-none"
    last = point / "train" / "last.pt"
    stamp = last.stat().st_mtime_ns
    (point / "point.json").unlink()
    (point / "eval.json").unlink()
    assert main(["sweep", "--config", str(path), "--list"]) == 0
    status = {line.split()[1]: line.split()[2] for line in capsys.readouterr().out.splitlines()[1:]}
    assert status == {"w4a4-xs-frd": "done", "w2a2-xs-none": "started"}
    assert main(["sweep", "--config", str(path), "--point", "1", "--no-progress"]) == 0
    assert "w2a2-xs-none: F1" in capsys.readouterr().out
    assert (point / "point.json").is_file() and last.stat().st_mtime_ns == stamp  # not retrained


@pytest.mark.slow
def test_report_has_plots_tables_and_a_choice(tiny_sweep, tmp_path):
    from frd_q.apps.report import write_report

    sweep, _, records = tiny_sweep
    paths = write_report(sweep.out_dir, tmp_path / "report", samples=1)
    md, page = paths["md"].read_text(), paths["html"].read_text()
    names = {p.name for p in paths["png"]}
    assert {"pareto_lut.png", "pareto_fps.png", "pareto_power.png", "layers.png", "samples.png"} <= names
    assert names <= {"pareto_lut.png", "pareto_fps.png", "pareto_power.png", "layers.png", "layers_synth.png",
                     "samples.png"}
    for png in paths["png"]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert page.count("data:image/png;base64,") == len(names) and "<table>" in page and 'src="pareto' not in page
    for r in records:
        assert r["point"]["name"] in md
    assert "**ZCU104**: fly **" in md and "**Pynq-Z1**: fly **" in md
    assert "MVAU_rtl" in md  # the Yosys / FINN table
    assert "each fine-tuned 2 steps at its own bit widths from one undistilled W8A8 run of 2 steps per width" in md


def test_report_of_a_folder_that_is_no_sweep_is_one_error(tmp_path):
    from frd_q.apps.cli import main

    assert main(["report", "--sweep", str(tmp_path)]) == 2
