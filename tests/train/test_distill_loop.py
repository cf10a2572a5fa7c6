"""Distillation inside the training loop: teacher from a checkpoint, terms logged, exact resume, clear errors."""

import csv

import pytest
import torch

from frd_q.config import config_from_dict
from frd_q.errors import ConfigError
from frd_q.train.checkpoint import load_checkpoint
from frd_q.train.loop import train

from conftest import tiny_config


@pytest.fixture(scope="module")
def tiny_teacher(tmp_path_factory, real_cd):
    tmp = tmp_path_factory.mktemp("teacher")
    train(config_from_dict(tiny_config(tmp, real_cd, "teacher", steps=2, val_every=2)), progress=False)
    return tmp / "runs" / "tiny" / "last.pt"


def distill_config(tmp_path, real_cd, teacher, **train):
    raw = tiny_config(tmp_path, real_cd, steps=4, val_every=2, **train)
    raw["distill"] = {"teacher": str(teacher), "bfdd": 1.0, "ccrd": 0.5, "kd": 1.0, "pixels": 32}
    return config_from_dict(raw)


def test_distilled_run_logs_each_term_and_resumes_exactly(tmp_path, real_cd, tiny_teacher):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    train(distill_config(tmp_path / "a", real_cd, tiny_teacher), progress=False)
    parted = distill_config(tmp_path / "b", real_cd, tiny_teacher)
    train(parted, stop_after=2, progress=False)
    train(parted, resume=True, progress=False)
    with open(tmp_path / "a" / "runs" / "tiny" / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    for term in ("distill_bfdd", "distill_ccrd", "distill_kd"):
        assert all(float(r[term]) >= 0 for r in rows) and any(float(r[term]) > 0 for r in rows)
    sa = load_checkpoint(tmp_path / "a" / "runs" / "tiny" / "last.pt")
    sb = load_checkpoint(tmp_path / "b" / "runs" / "tiny" / "last.pt")
    assert set(sa["distiller"]) and all(torch.equal(v, sb["distiller"][k]) for k, v in sa["distiller"].items())
    for k, v in sa["model"].items():
        assert torch.equal(v, sb["model"][k]), k
    # the teacher's checkpoint is untouched by distillation
    assert load_checkpoint(tiny_teacher)["step"] == 2


def test_distill_config_errors(tmp_path, real_cd, tiny_teacher):
    raw = tiny_config(tmp_path, real_cd)
    raw["distill"] = {"bfdd": 1.0}
    with pytest.raises(ConfigError, match="distill.teacher"):
        config_from_dict(raw)
    raw["distill"] = {"teacher": str(tiny_teacher), "bfd": 1.0}
    with pytest.raises(ConfigError, match="bfd"):
        config_from_dict(raw)
    raw = tiny_config(tmp_path, real_cd, "early")
    raw["distill"] = {"teacher": str(tiny_teacher), "bfdd": 1.0}
    with pytest.raises(ConfigError, match="early-fusion"):
        train(config_from_dict(raw), progress=False)
