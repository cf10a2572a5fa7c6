"""Every command, every kind of bad input: one error line naming the file, exit status 2, no output left behind.

The damaged datasets are copies of real LEVIR-CD pairs with one file broken on purpose.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from frd_q.apps.cli import main

from conftest import REPO, copy_pairs, tiny_config, write_config

NAMES = ["test_2_0000_0000", "val_27_0000_0256"]


def damaged(tmp_path, real_cd, problem):
    """A LEVIR-CD copy with one problem; returns (root, the file the error must name)."""
    root = copy_pairs(real_cd / "LEVIR-CD", NAMES, tmp_path / f"data_{problem}")
    name = NAMES[1]
    if problem == "corrupt":
        bad = root / "A" / f"{name}.png"
        bad.write_bytes(bad.read_bytes()[:200])  # a truncated PNG
    elif problem == "size":
        bad = root / "B" / f"{name}.png"
        Image.open(bad).resize((200, 256)).save(bad)
    elif problem == "label":
        bad = root / "label" / f"{name}.png"
        label = np.asarray(Image.open(bad)).copy()
        label[:10, :10] = 7
        Image.fromarray(label).save(bad)
    elif problem == "empty":
        for sub in ("A", "B", "label"):
            for f in (root / sub).iterdir():
                f.unlink()
        bad = root
    elif problem == "missing":
        (root / "label" / f"{name}.png").unlink()
        bad = root / "A" / f"{name}.png"  # the error names the image whose label is missing
    return root, bad


DATA_PROBLEMS = {
    "corrupt": "cannot read image",
    "size": "differs from",
    "label": "label values 7 are not in {0, 1, 255}",
    "empty": "no image pairs",
    "missing": "no matching label",
}


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


def expect_one_error(capsys, argv, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("frd-q: error: "), err
    for f in fragments:
        assert str(f) in err[0], (f, err[0])


@pytest.mark.parametrize("problem", sorted(DATA_PROBLEMS))
def test_data_problems_in_every_command_that_reads_data(problem, tmp_path, real_cd, tiny_checkpoint, early_build,
                                                        capsys):
    root, bad = damaged(tmp_path, real_cd, problem)
    out = tmp_path / "out"
    build, _ = early_build
    before = files_under(build)
    cfg = tiny_config(tmp_path, real_cd)
    cfg["data"]["train"] = [{"root": str(root)}]
    cfg["train"]["out_dir"] = str(out / "runs")
    commands = {
        "data": ["data", "--data", str(root)],
        "evaluate": ["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(root), "--json", str(out / "m.json")],
        "train": ["train", "--config", str(write_config(tmp_path / "c.yaml", cfg))],
        "verify": ["verify", "--build", str(build), "--data", str(root), "--report", str(out / "v"), "--levels", "torch,hw"],
        "seu": ["seu", "--build", str(build), "--data", str(root), "--out", str(out / "seu"), "--layers", "MVAU_0"],
    }
    for name, argv in commands.items():
        expect_one_error(capsys, argv, bad, DATA_PROBLEMS[problem])
        assert files_under(out) == [], (name, files_under(out))
    assert files_under(build) == before  # the build itself is read-only to these commands


@pytest.fixture(scope="module")
def foreign_checkpoint(tmp_path_factory, tiny_checkpoint, tiny_teacher_checkpoint):
    """The student's config with the teacher's weights: a checkpoint of another architecture."""
    ckpt = torch.load(tiny_checkpoint, weights_only=False)
    ckpt["model"] = torch.load(tiny_teacher_checkpoint, weights_only=False)["model"]
    path = tmp_path_factory.mktemp("foreign") / "swapped.pt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("kind", ["missing", "corrupt", "not_frd_q", "other_architecture"])
def test_checkpoint_problems_in_every_command_that_loads_one(kind, tmp_path, real_cd, foreign_checkpoint, capsys):
    path = {"missing": tmp_path / "none.pt", "corrupt": tmp_path / "c.pt", "not_frd_q": tmp_path / "f.pt",
            "other_architecture": foreign_checkpoint}[kind]
    if kind == "corrupt":
        path.write_bytes(b"PK\x03\x04 truncated")
    if kind == "not_frd_q":
        torch.save({"weights": {}}, path)
    message = {"missing": "checkpoint not found", "corrupt": "cannot read checkpoint", "not_frd_q": "not a frd_q checkpoint",
               "other_architecture": "weights do not fit"}[kind]
    d = real_cd / "LEVIR-CD"
    out = tmp_path / "out"
    pair = ["--a", str(d / "A" / f"{NAMES[0]}.png"), "--b", str(d / "B" / f"{NAMES[0]}.png")]
    for argv in (["info", "--checkpoint", str(path)],
                 ["evaluate", "--checkpoint", str(path), "--data", str(d), "--json", str(out / "m.json")],
                 ["predict", "--checkpoint", str(path), *pair, "--out", str(out / "m.tif")],
                 ["export", "--checkpoint", str(path), "--out", str(out / "s.onnx")]):
        expect_one_error(capsys, argv, path, message)
        assert files_under(out) == []


def test_teacher_checkpoint_where_a_student_is_needed(tmp_path, tiny_teacher_checkpoint, capsys):
    expect_one_error(capsys, ["export", "--checkpoint", str(tiny_teacher_checkpoint), "--out", str(tmp_path / "o" / "s.onnx")],
                     tiny_teacher_checkpoint)
    assert not (tmp_path / "o").exists() or files_under(tmp_path / "o") == []


def test_unknown_config_keys_and_missing_configs(tmp_path, real_cd, capsys):
    cfg = tiny_config(tmp_path, real_cd)
    cfg["model"]["widht"] = 3
    expect_one_error(capsys, ["train", "--config", str(write_config(tmp_path / "t.yaml", cfg))], "t.yaml",
                     "unknown key 'model.widht'")
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"seedz": [1]}))
    expect_one_error(capsys, ["ablate", "--config", str(tmp_path / "a.yaml")], "a.yaml", "seedz")
    for command in ("train", "ablate"):
        expect_one_error(capsys, [command, "--config", str(tmp_path / "none.yaml")], "none.yaml")
    (tmp_path / "broken.yaml").write_text("model: [unclosed\n")
    expect_one_error(capsys, ["train", "--config", str(tmp_path / "broken.yaml")], "broken.yaml")
    expect_one_error(capsys, ["train", "--config", str(write_config(tmp_path / "t2.yaml", tiny_config(tmp_path, real_cd))),
                              "--set", "train.stepz=3"], "train.stepz")
    assert not (tmp_path / "runs").exists()


def test_sigkill_during_training_resumes_to_the_uninterrupted_result(tmp_path, real_cd):
    """A run killed with SIGKILL at a random moment resumes from its last checkpoint; the checkpoint on disk is
    never half-written, and the resumed run ends with the same weights as a run never interrupted."""
    steps = 10
    cfg = tiny_config(tmp_path, real_cd, steps=steps, val_every=2)
    cmd = [sys.executable, "-m", "frd_q.apps.cli", "train", "--no-progress", "--config"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")

    straight = dict(cfg, name="straight")
    subprocess.run(cmd + [str(write_config(tmp_path / "s.yaml", straight))], check=True, cwd=REPO, env=env,
                   capture_output=True)

    killed = dict(cfg, name="killed")
    path = write_config(tmp_path / "k.yaml", killed)
    run_dir = tmp_path / "runs" / "killed"
    proc = subprocess.Popen(cmd + [str(path)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run_dir / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(7).uniform(0.0, 1.5))  # somewhere in the middle of later steps or saves
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed; make it longer"

    from frd_q.train.checkpoint import load_checkpoint

    interrupted = load_checkpoint(run_dir / "last.pt")  # readable, whole
    assert interrupted["step"] < steps
    resumed = subprocess.run(cmd + [str(path), "--resume"], cwd=REPO, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert not [p.name for p in run_dir.iterdir() if ".tmp-" in p.name]  # a stale temporary file is cleared
    a = load_checkpoint(run_dir / "last.pt")
    b = load_checkpoint(tmp_path / "runs" / "straight" / "last.pt")
    assert a["step"] == b["step"] == steps
    for k in b["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
