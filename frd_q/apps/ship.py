"""`frd-q ship`: a trained run's checkpoint made into a shipped model with its model card.

    frd-q ship --checkpoint runs/teacher/best.pt --name teacher [--out checkpoints] [--sources configs/splits/test.yaml]

Writes, each atomically:
  <out>/<name>.pt     the weights, config, step and validation metrics (decision threshold included), without the
                      optimizer state, in the frd_q checkpoint format (`frd-q evaluate --checkpoint` reads it)
  <out>/<name>.json   the card: sha256, size, parameters, steps, training wall time, the configs/ file that
                      reproduces the run, the data it was trained and selected on, the teacher it was distilled
                      from, and per-dataset test precision/recall/F1/IoU/kappa
  <out>/README.md     every card in <out>, regenerated (the model cards a user reads)
The test figures come from the test split (`--sources`); nothing of the shipped model was chosen on it.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from frd_q.errors import ConfigError
from frd_q.fsutil import sha256
from frd_q.train.checkpoint import train_wall_time

CARD_FIELDS = ("precision", "recall", "f1", "iou", "kappa")  #: the test metrics a card lists per dataset


def ship(checkpoint: str | Path, name: str, out_dir: str | Path = "checkpoints",
         sources: str | Path = "configs/splits/test.yaml", command: str | None = None,
         configs_dir: str | Path = "configs") -> dict:
    """Write <out_dir>/<name>.pt and its card <name>.json, regenerate <out_dir>/README.md; return the card. The card
    names the config file in `configs_dir` that reproduces the run (see `_config_file`)."""
    from frd_q.config import load_sources, to_dict
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.fsutil import write_json, write_text
    from frd_q.infer import evaluate_pairs
    from frd_q.metrics import dataset_mean
    from frd_q.train.checkpoint import decision_threshold, load_model, save_checkpoint

    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"--name {name!r}: a plain file name is needed")
    checkpoint, out = Path(checkpoint), Path(out_dir)
    model, cfg, ckpt = load_model(checkpoint)
    shipped = out / f"{name}.pt"
    save_checkpoint(shipped, {k: ckpt[k] for k in ("config", "model_name", "model", "step", "metrics", "best_f1")
                              if k in ckpt})
    threshold = decision_threshold(ckpt)
    pairs = load_pairs(scan_sources(load_sources(sources)), cfg.data.in_channels, cfg.data.label_threshold)
    total, per_dataset = evaluate_pairs(model, pairs, cfg.data.tile_size, threshold=threshold)
    test = {k: {m: round(c.metrics()[m], 4) for m in CARD_FIELDS} for k, c in sorted(per_dataset.items())}
    test["dataset mean"] = {m: round(v, 4) for m, v in dataset_mean(per_dataset).items() if m in CARD_FIELDS}
    test["all pixels"] = {m: round(total.metrics()[m], 4) for m in CARD_FIELDS}
    teacher = cfg.distill.teacher
    card = {
        "name": name, "file": shipped.name, "sha256": sha256(shipped), "bytes": shipped.stat().st_size,
        "model_name": ckpt["model_name"], "parameters": sum(p.numel() for p in model.parameters()),
        "trained_from": str(checkpoint), "step": ckpt["step"], "steps": cfg.train.steps,
        "wall_time_s": ckpt.get("wall_time_s") if "soup" in ckpt else train_wall_time(checkpoint.parent),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": command or f"frd-q train --config <{ckpt['model_name']} config>",
        "train_data": [to_dict(s) for s in cfg.data.train], "val_data": [to_dict(s) for s in cfg.data.val],
        "val": {k: ckpt["metrics"][k] for k in ("f1", "f1_mean", "threshold", "f1_mean_at_threshold")
                if k in ckpt.get("metrics", {})},
        "threshold": threshold, "test_sources": str(sources), "test_pairs": len(pairs), "test": test,
        "distilled_from": None if teacher is None else {
            "teacher": teacher, "sha256": sha256(teacher) if Path(teacher).is_file() else None,
            "losses": cfg.distill.weights()},
        "init_from": _init_from(cfg.train.init_from),
        "soup": ckpt.get("soup"),
        "config": to_dict(cfg),
        "config_file": None if ckpt.get("soup") else _config_file(cfg, configs_dir),
    }
    write_json(out / f"{name}.json", card)
    write_text(out / "README.md", cards_markdown(out))
    return card


def _config_file(cfg, configs_dir: str | Path) -> str | None:
    """The YAML file in `configs_dir` whose config equals the run's in everything but its name (a run may have been
    made with `--set name=...`), `<configs_dir>/<run name>.yaml` first; None when no file there matches."""
    from frd_q.config import load_config, to_dict
    from frd_q.errors import FrdError

    def unnamed(c) -> dict:
        return {k: v for k, v in to_dict(c).items() if k != "name"}

    folder = Path(configs_dir)
    own = folder / f"{cfg.name}.yaml"
    target = unnamed(cfg)
    for path in [own] + sorted(p for p in folder.glob("*.yaml") if p != own):
        try:
            if path.is_file() and unnamed(load_config(path)) == target:
                return str(path)
        except FrdError:  # a sweep, ablation or other non-training YAML
            continue
    return None


def _init_from(path: str | None) -> dict | None:
    """What a fine-tune started from: the checkpoint, its sha256, run name and step (None when it trained from
    scratch; only the path when that file is gone)."""
    from frd_q.train.checkpoint import load_checkpoint

    if not path:
        return None
    if not Path(path).is_file():
        return {"checkpoint": path, "sha256": None, "name": None, "step": None}
    start = load_checkpoint(path)
    return {"checkpoint": path, "sha256": sha256(path), "name": start.get("config", {}).get("name"),
            "step": start.get("step")}


def _card_section(card: dict) -> list[str]:
    c = card
    wall = f"{c['wall_time_s'] / 60:.0f} min" if c.get("wall_time_s") else "?"
    val = f"dataset-mean F1 {c['val'].get('f1_mean', float('nan')):.3f}"
    lines = [f"## {c['name']}", "", f"- file `{c['file']}`, {c['bytes'] / 1e6:.2f} MB, sha256 `{c['sha256']}`"]
    if c.get("soup"):
        parts = "; ".join(f"`{s['checkpoint']}` (run {s['name']}, step {s['step']}, val {s['val_f1_mean']:.3f}, "
                          f"sha256 `{s['sha256'][:16]}…`)" for s in c["soup"])
        lines += [f"- {c['model_name']}, {c['parameters'] / 1e6:.3f} M parameters; the config of its best ingredient "
                  f"(run {c['soup'][0]['name']}), stored whole in the checkpoint",
                  f"- weights: the mean of {len(c['soup'])} checkpoints' weights (`frd-q soup`, chosen on the val "
                  f"split, {val}): {parts}; their runs trained {wall} together on {c['machine']}"]
    else:
        config_file = c.get("config_file", f"configs/{c['config']['name']}.yaml")  # cards before the field
        run = c["config"]["name"]
        if not config_file:
            config = f"the config of run {run} (stored whole in the checkpoint; no file in configs/ matches it)"
        elif Path(config_file).stem != run:
            config = f"config `{config_file}` (run {run}; stored whole in the checkpoint)"
        else:
            config = f"config `{config_file}` (stored whole in the checkpoint)"
        lines += [f"- {c['model_name']}, {c['parameters'] / 1e6:.3f} M parameters; {config}",
                  f"- trained {c['steps']} steps ({c['config']['train']['batch_size']} crops of "
                  f"{c['config']['data']['crop_size']}² a step) in {wall} on {c['machine']}; shipped step {c['step']}, "
                  f"chosen on the val split ({val})"]
    lines += [f"- decision: change = logit > {c['threshold']:g} (chosen on the val split)",
              f"- made by `{c['command']}`"]
    if c["config"]["train"].get("ema") and not c.get("soup"):
        lines.append(f"- weights: the run's exponential moving average (train.ema {c['config']['train']['ema']:g}), "
                     f"what validation chose")
    if c.get("init_from"):
        i = c["init_from"]
        whose, note = ("its best ingredient was ", "the wall time above does not count it") if c.get("soup") else \
            ("", "the steps and wall time above are this stage's")
        lines.append(f"- {whose}fine-tuned from `{i['checkpoint']}` (run {i['name'] or '?'}, step {i['step'] or '?'}, "
                     f"sha256 `{(i['sha256'] or '?')[:16]}…`); {note}")
    if c.get("distilled_from"):
        d = c["distilled_from"]
        losses = ", ".join(f"{k} {v:g}" for k, v in d["losses"].items())
        lines.append(f"- distilled from `{d['teacher']}` (sha256 `{(d['sha256'] or '?')[:16]}…`) with {losses}")
    lines += ["", f"Test split (`{c['test_sources']}`, {c['test_pairs']} pairs or windows), full images, percent:", "",
              "| dataset | precision | recall | F1 | IoU | kappa |", "|---|---:|---:|---:|---:|---:|"]
    for k, m in c["test"].items():
        cells = " | ".join(f"{100 * m[f]:.1f}" for f in CARD_FIELDS)
        lines.append(f"| {'**' + k + '**' if k in ('dataset mean', 'all pixels') else k} | {cells} |")
    return lines + [""]


def cards_markdown(out: Path) -> str:
    """checkpoints/README.md: an index table and one section per card, in name order."""
    cards = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    lines = ["# Shipped models", "",
             "Written by `frd-q ship` (frd_q/apps/ship.py); every figure is measured on the test split, which chose "
             "nothing.", "`frd-q evaluate --checkpoint checkpoints/<name>.pt --sources configs/splits/test.yaml` "
             "reproduces a table.", "",
             "| model | parameters | steps | test F1, dataset mean | test F1, LEVIR-CD | test kappa, LEVIR-CD | MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for c in cards:
        levir = c["test"].get("LEVIR-CD", {})
        lines.append(f"| {c['name']} | {c['parameters'] / 1e6:.3f} M | {c['step']} | "
                     f"{100 * c['test']['dataset mean']['f1']:.1f} | {100 * levir.get('f1', float('nan')):.1f} | "
                     f"{100 * levir.get('kappa', float('nan')):.1f} | {c['bytes'] / 1e6:.2f} |")
    lines.append("")
    for c in cards:
        lines += _card_section(c)
    return "\n".join(lines)
