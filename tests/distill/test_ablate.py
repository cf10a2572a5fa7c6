"""`frd-q ablate` on a tiny budget: every variant x seed trained and evaluated, tables written, reruns reuse runs."""

import json

import pytest
import yaml

from frd_q.apps.cli import main
from frd_q.distill.ablate import load_ablation

from conftest import tiny_config, write_config


@pytest.fixture
def ablation_yaml(tmp_path, real_cd):
    base = write_config(tmp_path / "student.yaml", tiny_config(tmp_path, real_cd, steps=2))
    teacher_raw = tiny_config(tmp_path, real_cd, "teacher", steps=2, val_every=2)
    teacher_cfg = write_config(tmp_path / "teacher.yaml", teacher_raw)
    ablation = {
        "base": str(base), "teacher": str(tmp_path / "runs" / "teacher" / "last.pt"),
        "teacher_config": str(teacher_cfg), "steps": 2, "seeds": [0, 1],
        "out_dir": str(tmp_path / "abl"),
        "eval": [{"root": str(real_cd), "list": str(tmp_path / "val.txt")}],
        "variants": {"none": {}, "bfdd+ccrd": {"bfdd": 1.0, "ccrd": 0.5}, "kd": {"kd": 1.0}},
    }
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump(ablation))
    return path


def test_ablation_trains_every_variant_and_seed_and_tabulates(ablation_yaml, tmp_path, capsys):
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress"]) == 0
    out = tmp_path / "abl"
    report = json.loads((out / "ablation.json").read_text())
    assert set(report["runs"]) == {"none", "bfdd+ccrd", "kd"}
    assert all(set(r) == {"0", "1"} for r in report["runs"].values())  # JSON keys
    row = report["summary"]["bfdd+ccrd"]
    assert {"all/f1", "all/iou", "dataset mean/f1", "LEVIR-CD/f1"} <= set(row)
    assert all(0 <= mean <= 1 and sd >= 0 for mean, sd in row.values())
    table = (out / "ablation.md").read_text()
    assert "| bfdd+ccrd |" in table and "±" in table
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
    assert trained == ["bfdd+ccrd_s0", "kd_s0", "none_s0"]  # runs 0, 2, 4 of variant x seed
    assert not (out / "ablation.json").exists() and "3 runs of other shards unfinished" in capsys.readouterr().out
    assert main(["ablate", "--config", str(ablation_yaml), "--no-progress", "--shard", "1/2"]) == 0
    report = json.loads((out / "ablation.json").read_text())
    assert set(report["runs"]) == {"none", "bfdd+ccrd", "kd"}
    run = json.loads((out / "kd_s1" / "eval.json").read_text())
    assert run["step"] == 2 and run["threshold"] == run_threshold(out / "kd_s1" / "last.pt")
    assert main(["ablate", "--config", str(ablation_yaml), "--shard", "2/2"]) == 2
    assert "needs 0 <= i < n" in capsys.readouterr().err


def run_threshold(path):
    from frd_q.train.checkpoint import decision_threshold, load_checkpoint

    return decision_threshold(load_checkpoint(path))


def test_unknown_loss_in_a_variant_is_one_error(ablation_yaml, tmp_path, capsys):
    raw = yaml.safe_load(ablation_yaml.read_text())
    raw["variants"]["bad"] = {"bfd": 1.0}
    ablation_yaml.write_text(yaml.safe_dump(raw))
    assert main(["ablate", "--config", str(ablation_yaml)]) == 2
    assert "unknown loss bfd" in capsys.readouterr().err


def test_shipped_ablation_config_loads():
    from conftest import REPO

    cfg = load_ablation(REPO / "configs" / "ablation.yaml")
    assert len(cfg.seeds) >= 3 and cfg.steps >= 1500
    assert {"none", "kd", "fitnet", "cwd", "bfdd", "ccrd", "bfdd+ccrd"} == set(cfg.variants)
