"""Checkpoints: one dict saved with torch.save, written atomically.

    {"format": "frd_q-checkpoint", "version": 1, "frd_q": <package version>,
     "config": <Config as a plain dict>, "model_name": "student_w4a4", "model": <state_dict>,
     "step": int, "metrics": {...}, "best_f1": float, "optimizer": ..., "scheduler": ...}

`load_model` rebuilds the network from the stored config and checks every weight fits.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from frd_q import __version__
from frd_q.config import Config, config_from_dict
from frd_q.errors import CheckpointError, ConfigError
from frd_q.fsutil import atomic_path

FORMAT = "frd_q-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write `payload` plus the format header to `path` (temporary name first, then rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a file object: torch.save names the zip's records
        # after a path it is given (here a random temporary name), so the same payload would hash differently
        torch.save({"format": FORMAT, "version": VERSION, "frd_q": __version__, **payload}, f)


def load_checkpoint(path: str | Path) -> dict:
    """Read a frd_q checkpoint onto the CPU; CheckpointError if it is missing, corrupt or foreign."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a frd_q checkpoint")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {ckpt.get('version')}, this frd_q reads {VERSION}")
    return ckpt


def describe_start(path: str | Path | None) -> dict | None:
    """What a run starts from (`train.init_from`): the checkpoint, its sha256, run name and step, and for a weight
    average that `frd-q ship` shipped, its ingredients as `run@step` (from the card beside it, `<stem>.json`, when
    that names the same sha256). None without a path; only the path when that file is gone. The loop records this
    when a run starts, so that a card names the start as it was even where the file at that path was replaced
    since (shipping a fine-tune of a shipped model under the same name replaces its start)."""
    import json

    from frd_q.fsutil import sha256

    if not path:
        return None
    path = Path(path)
    if not path.is_file():
        return {"checkpoint": str(path), "sha256": None, "name": None, "step": None}
    start, digest = load_checkpoint(path), sha256(path)
    found = {"checkpoint": str(path), "sha256": digest, "name": start.get("config", {}).get("name"),
             "step": start.get("step")}
    card = path.with_suffix(".json")
    try:
        card = json.loads(card.read_text()) if card.is_file() else {}
    except (OSError, ValueError):
        card = {}  # an unreadable card says nothing about the weights; the sha256 above still names them
    if isinstance(card, dict) and card.get("sha256") == digest and card.get("soup"):
        found["soup"] = [f"{s['name']}@{s['step']}" for s in card["soup"]]
    return found


def run_provenance(cfg: Config) -> dict:
    """What a run starts from, recorded in its checkpoints for `frd-q ship`: `train.init_from` as `describe_start`
    gives it and the sha256 of `distill.teacher` (each None when the run has none, or the file is gone)."""
    from frd_q.fsutil import sha256

    teacher = cfg.distill.teacher
    return {"init_from": describe_start(cfg.train.init_from),
            "teacher_sha256": sha256(teacher) if teacher and Path(teacher).is_file() else None}


def checkpoint_config(ckpt: dict, path: str | Path) -> Config:
    try:
        return config_from_dict(ckpt["config"], f"{path} (stored config)")
    except (KeyError, ConfigError) as e:
        raise CheckpointError(f"{path}: stored config is invalid ({e})") from None


def load_model(path: str | Path):
    """(model in eval mode, Config, checkpoint dict) from a checkpoint file."""
    from frd_q.models import build_model

    ckpt = load_checkpoint(path)
    cfg = checkpoint_config(ckpt, path)
    model = build_model(cfg.model, cfg.data.in_channels)
    load_weights(model, ckpt, path)
    return model.eval(), cfg, ckpt


def decision_threshold(ckpt: dict) -> float:
    """The logit threshold of a change decision: the one chosen on the validation split at the checkpoint's step
    (`metrics.threshold`, written by training since the three-way split), else 0 (probability 0.5)."""
    return float((ckpt.get("metrics") or {}).get("threshold", 0.0))


def load_weights(model: torch.nn.Module, ckpt: dict, path: str | Path, new_prefix: str | None = None) -> None:
    """Load the checkpoint's weights into `model`, naming the first mismatch if they do not fit. Weights the
    checkpoint lacks are allowed only under `new_prefix` (modules a fine-tune adds; they keep their initialization)."""
    try:
        missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
    except (RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: weights do not fit {ckpt.get('model_name', 'the model')} ({first})") from None
    if new_prefix:
        missing = [k for k in missing if not k.startswith(new_prefix)]
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise CheckpointError(f"{path}: weights do not fit the model ({what})")


__all__ = ["load_checkpoint", "load_model", "load_weights", "save_checkpoint", "checkpoint_config",
           "decision_threshold"]


def train_wall_time(run_dir: Path) -> float | None:
    """Seconds the run trained, from train_log.csv: a resumed run restarts its clock, so segments are summed."""
    log = run_dir / "train_log.csv"
    if not log.is_file():
        return None
    total, last = 0.0, 0.0
    with log.open() as f:
        for row in csv.DictReader(f):
            t = float(row.get("elapsed_s") or 0.0)
            if t < last:  # a new segment began
                total += last
            last = t
    return round(total + last, 1)
