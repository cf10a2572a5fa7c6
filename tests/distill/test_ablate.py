"""`frd-q ablate` on a tiny budget: every variant x seed trained and evaluated, tables written, reruns reuse runs,
records carry an ablation across machines, workers share runs through claims."""

import json

import pytest
import yaml

from frd_q.apps.cli import main
from frd_q.distill.ablate import load_ablation, paired

from conftest import tiny_config, write_config


@pytest.fixture
def ablation_yaml(tmp_path, real_cd):
    base = write_config(tmp_path / "student.yaml", tiny_config(tmp_path, real_cd, steps=2))
    teacher_raw = tiny_config(tmp_path, real_cd, "teacher", steps=2, val_every=2)
    teacher_cfg = write_config(tmp_path / "teacher.yaml", teacher_raw)
    ablation = {
        "base": str(base), "teacher": str(tmp_path / "runs" / "teacher" / "last.pt"),
        "teacher_config": str(teacher_cfg), "steps": 2, "seeds": [0, 1],
        "out_dir": str(tmp_path / "abl"), "records": str(tmp_path / "records"),
        "eval": [{"root": str(real_cd), "list": str(tmp_path / "val.txt")}],
        "variants": {"none": {}, "bfdd+ccrd": {"bfdd": 1.0, "ccrd": 0.5}, "kd": {"kd": 1.0}},
    }
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(ablation, sort_keys=False))
    return path


def test_ablation_trains_every_variant_and_seed_and_tabulates(ablation_yaml, tmp_path, capsys):
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    out, records = tmp_path / "abl", tmp_path / "records"
    report = json.loads((records / "ablation.json").read_text())
    assert set(report["runs"]) == {"none", "bfdd+ccrd", "kd"}
    assert all(set(r) == {"0", "1"} for r in report["runs"].values())  # JSON keys
    row = report["summary"]["bfdd+ccrd"]
    assert {"all/f1", "all/iou", "dataset mean/f1", "LEVIR-CD/f1"} <= set(row) and row.pop("n") == 2
    assert all(0 <= mean <= 1 and sd >= 0 for mean, sd in row.values())
    table = (records / "ablation.md").read_text()
    assert "| bfdd+ccrd | 2 |" in table and "±" in table
    assert set(report["paired"]) == {"bfdd+ccrd", "kd"} and "Δ all | ahead" in table  # both against `none`
    assert sorted(p.name for p in records.glob("*_s*.json")) == sorted(
        f"{v}_s{s}.json" for v in ("none", "bfdd+ccrd", "kd") for s in (0, 1))
    assert not list(out.glob("*.claim"))  # claims are released
    assert (tmp_path / "runs" / "teacher" / "last.pt").is_file()  # trained because it was missing
    stamp = (out / "kd_s1" / "last.pt").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    assert (out / "kd_s1" / "last.pt").stat().st_mtime_ns == stamp  # finished runs are reused
    assert "training" not in capsys.readouterr().out


def test_shards_split_the_runs_and_the_last_one_tabulates(ablation_yaml, tmp_path, capsys):
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress", "--shard", "0/2"]) == 0
    out = tmp_path / "abl"
    trained = sorted(p.parent.name for p in out.glob("*/last.pt"))
    assert trained == ["bfdd+ccrd_s1", "kd_s0", "none_s0"]  # runs 0, 2, 4 of the plan, seed by seed
    assert not (tmp_path / "records" / "ablation.json").exists() and "3 of 6 runs unfinished" in capsys.readouterr().out
    assert main(["ablate", "--config", str(ablation_yaml), "--table"]) == 0  # where it stands, trains nothing
    partial = (tmp_path / "records" / "ablation_partial.md").read_text()
    assert "3 runs unfinished" in partial and "| kd | 1 |" in partial and "| bfdd+ccrd | 1 |" in partial
    assert sorted(p.parent.name for p in out.glob("*/last.pt")) == trained
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress", "--shard", "1/2"]) == 0
    report = json.loads((tmp_path / "records" / "ablation.json").read_text())
    assert set(report["runs"]) == {"none", "bfdd+ccrd", "kd"}
    assert not list((tmp_path / "records").glob("ablation_partial*"))  # superseded by the full table
    run = json.loads((out / "kd_s1" / "eval.json").read_text())
    assert run["step"] == 2 and run["threshold"] == run_threshold(out / "kd_s1" / "last.pt")
    assert main(["ablate", "--config", str(ablation_yaml), "--shard", "2/2"]) == 2
    assert "needs 0 <= i < n" in capsys.readouterr().err


def test_records_resume_an_ablation_on_a_machine_without_its_runs(ablation_yaml, tmp_path, capsys):
    """The committed records stand for finished runs: a fresh machine (no runs/) trains nothing and tabulates;
    a record made under other settings is one error naming it."""
    import shutil

    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    first = (tmp_path / "records" / "ablation.md").read_text()
    shutil.rmtree(tmp_path / "abl")
    capsys.readouterr()
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    assert "training" not in capsys.readouterr().out and not (tmp_path / "abl").exists()
    assert (tmp_path / "records" / "ablation.md").read_text() == first
    raw = yaml.safe_load(ablation_yaml.read_text())
    raw["steps"] = 3
    ablation_yaml.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "none_s0.json" in err and "steps: 2" in err and "delete it" in err


def test_table_without_the_teacher_file_reads_the_records_and_another_teacher_is_refused(ablation_yaml, tmp_path,
                                                                                         capsys):
    """A fresh clone has the committed records but maybe not the teacher they were distilled from: `--table` still
    tabulates (and says the teacher is unchecked); a different teacher file under that name is one error."""
    import shutil

    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    first = (tmp_path / "records" / "ablation.md").read_text()
    shutil.rmtree(tmp_path / "abl")
    teacher = tmp_path / "runs" / "teacher" / "last.pt"
    teacher.rename(tmp_path / "teacher.pt")
    capsys.readouterr()
    assert main(["ablate", "--config", str(ablation_yaml), "--table"]) == 0
    assert "is absent: the records' teacher (sha256) is not checked" in capsys.readouterr().out
    assert (tmp_path / "records" / "ablation.md").read_text() == first
    teacher.write_bytes((tmp_path / "teacher.pt").read_bytes() + b"\0")  # another file under the teacher's name
    assert main(["ablate", "--config", str(ablation_yaml), "--table"]) == 2
    assert "teacher_sha256" in capsys.readouterr().err


def test_a_run_claimed_by_a_live_worker_is_left_to_it(ablation_yaml, tmp_path, capsys):
    """Two workers share runs through claim files: one held by a live process is skipped, a stale one is taken."""
    import os
    import subprocess

    out = tmp_path / "abl"
    out.mkdir()
    (out / "none_s0.claim").write_text(str(os.getpid()))  # held by this (live) process
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / "kd_s0.claim").write_text(str(dead.pid))  # its worker is gone
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    assert not (out / "none_s0").exists() and (out / "kd_s0" / "last.pt").is_file()
    assert "1 of 6 runs unfinished (none_s0)" in capsys.readouterr().out
    assert (out / "none_s0.claim").is_file() and not (out / "kd_s0.claim").exists()


def run_threshold(path):
    from frd_q.train.checkpoint import decision_threshold, load_checkpoint

    return decision_threshold(load_checkpoint(path))


def test_unknown_loss_in_a_variant_is_one_error(ablation_yaml, tmp_path, capsys):
    raw = yaml.safe_load(ablation_yaml.read_text())
    raw["variants"]["bad"] = {"bfd": 1.0}
    ablation_yaml.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["ablate", "--config", str(ablation_yaml)]) == 2
    assert "unknown loss bfd" in capsys.readouterr().err


def test_shipped_ablation_config_loads():
    from conftest import REPO

    cfg = load_ablation(REPO / "configs" / "ablation.yaml")
    assert len(cfg.seeds) >= 3 and cfg.steps >= 1500
    assert {"none", "kd", "bfdd+ccrd"} <= set(cfg.variants) and cfg.records


def test_paired_differences_are_taken_seed_by_seed():
    """A variant 2 points ahead on every seed is 2 ± 0 ahead, although the seeds themselves differ by 10 points;
    only the seeds both variants have count."""
    def metrics(a, b):  # two datasets with F1 a and b; all pixels: their mean
        return {"all": {"f1": (a + b) / 2}, "X": {"f1": a}, "Y": {"f1": b}}

    results = {"none": {0: metrics(0.40, 0.60), 1: metrics(0.50, 0.70), 2: metrics(0.45, 0.65)},
               "frd": {0: metrics(0.42, 0.62), 1: metrics(0.52, 0.72)},
               "kd": {0: metrics(0.30, 0.60), 1: metrics(0.60, 0.70), 2: metrics(0.45, 0.61)}}
    d = paired(results, "none")
    assert set(d) == {"frd", "kd"} and d["frd"]["n"] == 2 and d["kd"]["n"] == 3
    mean, sd = d["frd"]["all"]["mean_sd"]
    assert mean == pytest.approx(0.02) and sd == pytest.approx(0.0, abs=1e-12) and d["frd"]["all"]["wins"] == 2
    mean, sd = d["kd"]["dataset mean"]["mean_sd"]  # per seed: -0.05, +0.05, -0.02
    assert mean == pytest.approx(-0.02 / 3) and sd > 0.04 and d["kd"]["dataset mean"]["wins"] == 1
