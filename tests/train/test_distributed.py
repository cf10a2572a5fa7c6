"""`torchrun` runs the same train command as DistributedDataParallel (Gloo on CPU here, NCCL on GPUs)."""

import subprocess
import sys

import pytest

from frd_q.train.checkpoint import load_checkpoint

from conftest import REPO, tiny_config, write_config


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path, real_cd):
    cfg = write_config(tmp_path / "c.yaml", tiny_config(tmp_path, real_cd, steps=2, val_every=2))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "frd_q.apps.cli", "train", "--config", str(cfg), "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = load_checkpoint(tmp_path / "runs" / "tiny" / "last.pt")
    assert ckpt["step"] == 2 and "f1" in ckpt["metrics"]
    # DDP wraps the model, but the checkpoint holds the plain model's weights
    assert not any(k.startswith("module.") for k in ckpt["model"])
