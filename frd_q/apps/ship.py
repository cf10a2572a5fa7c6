"""`frd-q ship`: a trained run's checkpoint made into a shipped model with its model card.

    frd-q ship --checkpoint runs/teacher/best.pt --name teacher [--out checkpoints] [--sources configs/splits/test.yaml]

Writes, each atomically:
  <out>/<name>.pt     the weights, config, step and validation metrics (decision threshold included), without the
                      optimizer state, in the frd_q checkpoint format (`frd-q evaluate --checkpoint` reads it)
  <out>/<name>.json   the card: sha256, size, parameters, steps, training wall time, the configs/ file that
                      reproduces the run, the data it was trained and selected on, the teacher it was distilled
                      from, and per-dataset test precision/recall/F1/IoU/kappa
  <out>/README.md     every card in <out>, regenerated (the model cards a user reads)
The test figures come from the test split (`--sources`); nothing of the shipped model was chosen on it. Each F1
carries a 95 % block-bootstrap interval (frd_q/compare.py, the defaults of `frd-q compare`), and the card keeps
the per-block counts it came from, so README.md can pair every model against the teacher without running either.

    frd-q cards [--out checkpoints] [--sources configs/splits/test.yaml]

re-measures every shipped model in <out> on the test split (after a change of the split or of the metrics) and
rewrites the cards' test figures, intervals and README.md; the weights must still be the ones the card names.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.fsutil import sha256
from frd_q.train.checkpoint import train_wall_time

CARD_FIELDS = ("precision", "recall", "f1", "iou", "kappa")  #: the test metrics a card lists per dataset
BLOCK, RESAMPLES, SEED, LEVEL = 64, 2000, 0, 0.95  #: the cards' test intervals: the defaults of `frd-q compare`


def ship(checkpoint: str | Path, name: str, out_dir: str | Path = "checkpoints",
         sources: str | Path = "configs/splits/test.yaml", command: str | None = None,
         configs_dir: str | Path = "configs") -> dict:
    """Write <out_dir>/<name>.pt and its card <name>.json, regenerate <out_dir>/README.md; return the card. The card
    names the config file in `configs_dir` that reproduces the run (see `_config_file`)."""
    from frd_q.config import to_dict
    from frd_q.fsutil import write_json, write_text
    from frd_q.train.checkpoint import decision_threshold, load_model, run_provenance, save_checkpoint

    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"--name {name!r}: a plain file name is needed")
    checkpoint, out = Path(checkpoint), Path(out_dir)
    model, cfg, ckpt = load_model(checkpoint)
    teacher = cfg.distill.teacher
    # the start and the teacher as the run found them (recorded when it started); a run from before that record
    # gets them read now, before the shipped file is written: it may replace the start (a fine-tune shipped under
    # the name of the model it started from)
    provenance = ckpt.get("provenance") or run_provenance(cfg)
    shipped = out / f"{name}.pt"
    save_checkpoint(shipped, {k: ckpt[k] for k in ("config", "model_name", "model", "step", "metrics", "best_f1",
                                                   "provenance") if k in ckpt})
    threshold = decision_threshold(ckpt)
    measured = measure_test(model, cfg, threshold, sources)
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
        "threshold": threshold, **measured,
        "distilled_from": None if teacher is None else {
            "teacher": teacher, "sha256": provenance["teacher_sha256"], "losses": cfg.distill.weights()},
        "init_from": provenance["init_from"],
        "soup": ckpt.get("soup"),
        "config": to_dict(cfg),
        "config_file": None if ckpt.get("soup") else _config_file(cfg, configs_dir),
    }
    write_json(out / f"{name}.json", card)
    write_text(out / "README.md", cards_markdown(out))
    return card


def measure_test(model, cfg, threshold: float, sources: str | Path) -> dict:
    """The card's test fields: per-dataset, dataset-mean and all-pixel precision/recall/F1/IoU/kappa of change =
    logit > threshold over the pairs of `sources` (full images), each F1's bootstrap interval, and the per-block
    counts they come from (one inference pass)."""
    from frd_q.compare import bootstrap, count_blocks
    from frd_q.config import load_sources
    from frd_q.data.dataset import load_pairs, scan_sources
    from frd_q.metrics import Confusion, dataset_mean

    pairs = load_pairs(scan_sources(load_sources(sources)), cfg.data.in_channels, cfg.data.label_threshold)
    counts = count_blocks(model, pairs, cfg.data.tile_size, threshold, BLOCK)
    per_dataset = {k: Confusion(*(int(n) for n in v.sum(axis=0))) for k, v in counts.items()}
    total = Confusion()
    for c in per_dataset.values():
        total += c
    test = {k: {m: round(c.metrics()[m], 4) for m in CARD_FIELDS} for k, c in per_dataset.items()}
    test["dataset mean"] = {m: round(v, 4) for m, v in dataset_mean(per_dataset).items() if m in CARD_FIELDS}
    test["all pixels"] = {m: round(total.metrics()[m], 4) for m in CARD_FIELDS}
    boot = bootstrap([counts], ["model"], [threshold], BLOCK, RESAMPLES, SEED, LEVEL, pairs=len(pairs))
    figure = {**{k: f"f1[{k}]" for k in counts}, "dataset mean": "f1_mean", "all pixels": "f1_all"}
    intervals = {"block": BLOCK, "resamples": RESAMPLES, "seed": SEED, "level": LEVEL, "redrawn": boot.redrawn,
                 "f1": {k: [round(x, 4) for x in boot.interval(f, 0)] for k, f in figure.items()}}
    return {"test_sources": str(sources), "test_pairs": len(pairs), "test": test, "test_intervals": intervals,
            "test_blocks": {"block": BLOCK, "format": "per dataset, its pairs' blocks in order (row-major), each "
                            "TP,FP,FN,TN, separated by spaces",
                            "counts": {k: " ".join(",".join(str(n) for n in b) for b in v) for k, v in counts.items()}}}


def block_counts_of(card: dict) -> dict[str, np.ndarray]:
    """The per-dataset (n_blocks, 4) test counts a card keeps (`measure_test`)."""
    return {k: np.array([[int(n) for n in b.split(",")] for b in v.split()], dtype=np.int64).reshape(-1, 4)
            for k, v in card["test_blocks"]["counts"].items()}


def remeasure(out_dir: str | Path = "checkpoints", sources: str | Path = "configs/splits/test.yaml") -> list[dict]:
    """`frd-q cards`: measure every shipped model of `out_dir` on `sources` again and rewrite its card's test
    fields (figures, intervals, block counts) and README.md. Every card is checked before any model runs (a card
    that is not JSON, weights that are missing or are not the ones the card's sha256 names: ConfigError), and no
    file is written until every model is measured."""
    from frd_q.fsutil import write_json, write_text
    from frd_q.train.checkpoint import decision_threshold, load_model

    out = Path(out_dir)
    paths = sorted(out.glob("*.json"))
    if not paths:
        raise ConfigError(f"{out}: no model cards (*.json) to re-measure; ship a model with frd-q ship")
    cards = []
    for path in paths:
        try:
            card = json.loads(path.read_text())
            weights = out / card["file"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a model card written by frd-q ship ({e})") from None
        if not weights.is_file():
            raise ConfigError(f"{path}: its weights {weights} are missing")
        digest = sha256(weights)
        if digest != card.get("sha256"):
            raise ConfigError(f"{weights}: sha256 {digest[:16]}… is not the one its card {path} names "
                              f"({str(card.get('sha256'))[:16]}…); ship it again with frd-q ship")
        cards.append((path, weights, card))
    for path, weights, card in cards:
        model, cfg, ckpt = load_model(weights)
        card.update(measure_test(model, cfg, decision_threshold(ckpt), sources))
    for path, _, card in cards:
        write_json(path, card)
    write_text(out / "README.md", cards_markdown(out))
    return [card for _, _, card in cards]


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


def _f1_cell(card: dict, key: str) -> str:
    """A card's test F1 of `key` (a dataset, "dataset mean" or "all pixels") in percent, with its interval when the
    card has one."""
    value = card["test"].get(key, {}).get("f1", float("nan"))
    iv = (card.get("test_intervals") or {}).get("f1", {}).get(key)
    return f"{100 * value:.1f}" + (f" [{100 * iv[0]:.1f}, {100 * iv[1]:.1f}]" if iv else "")


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
        start = f"the weight average of {', '.join(i['soup'])}" if i.get("soup") else \
            f"run {i['name'] or '?'}, step {i['step'] or '?'}"
        digest = (i["sha256"] or "?")[:16]
        lines.append(f"- {whose}fine-tuned from `{i['checkpoint']}` ({start}, sha256 `{digest}…`); {note}")
    if c.get("distilled_from"):
        d = c["distilled_from"]
        losses = ", ".join(f"{k} {v:g}" for k, v in d["losses"].items())
        lines.append(f"- distilled from `{d['teacher']}` (sha256 `{(d['sha256'] or '?')[:16]}…`) with {losses}")
    iv = c.get("test_intervals")  # cards shipped before intervals have none
    f1_head = f"F1 [{round(100 * iv['level'])} %]" if iv else "F1"
    lines += ["", f"Test split (`{c['test_sources']}`, {c['test_pairs']} pairs or windows), full images, percent:", "",
              f"| dataset | precision | recall | {f1_head} | IoU | kappa |", "|---|---:|---:|---:|---:|---:|"]
    for k, m in c["test"].items():
        cells = " | ".join(_f1_cell(c, k) if f == "f1" else f"{100 * m[f]:.1f}" for f in CARD_FIELDS)
        lines.append(f"| {'**' + k + '**' if k in ('dataset mean', 'all pixels') else k} | {cells} |")
    if iv:
        lines += ["", f"Intervals: percentile intervals of {iv['resamples']} block-bootstrap resamples of the test "
                  f"split ({iv['block']}² blocks, stratified by dataset, seed {iv['seed']}; `frd-q compare`). They say "
                  "how much the figures depend on which parts of these scenes were scored, not how another seed would "
                  "do."]
    return lines + [""]


def _against_teacher(cards: list[dict]) -> list[str]:
    """README's table of every model's paired difference to the teacher's card (the one named `teacher`), from the
    block counts the cards keep: the same draws as `frd-q compare` with the teacher first."""
    from frd_q.compare import bootstrap

    ref = next((c for c in cards if c["name"] == "teacher" and c.get("test_blocks")), None)
    if ref is None:
        return []
    iv = ref["test_intervals"]
    pct = round(100 * iv["level"])
    ref_counts = block_counts_of(ref)

    rows, unpaired = [], []
    for c in cards:
        if c is ref:
            continue
        if not c.get("test_blocks") or c["test_sources"] != ref["test_sources"] or \
                c["test_blocks"]["block"] != ref["test_blocks"]["block"]:
            unpaired.append(c["name"])
            continue
        try:
            b = bootstrap([ref_counts, block_counts_of(c)], ["teacher", c["name"]],
                          [ref["threshold"], c["threshold"]], ref["test_blocks"]["block"], iv["resamples"], iv["seed"],
                          iv["level"])
        except ValueError:  # counted on other pairs or labels than the teacher
            unpaired.append(c["name"])
            continue
        cell = {}
        for f in ("f1_mean", "f1_all"):
            lo, hi = b.interval(f, 1, 0)
            cell[f] = f"{100 * (b.point[f][1] - b.point[f][0]):+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        rows.append(f"| {c['name']} | {cell['f1_mean']} | {b.p_above('f1_mean', 1, 0):.2f} | {cell['f1_all']} |")
    lines = []
    if rows:
        lines += ["", f"Each model against the teacher on the test split, paired ({iv['block']}² blocks, "
                  f"{iv['resamples']} resamples, seed {iv['seed']}, {pct} % intervals; the same figures as `frd-q "
                  "compare --checkpoint checkpoints/teacher.pt checkpoints/<name>.pt`), F1 points:", "",
                  "| model | dataset-mean F1 − teacher | share of resamples above the teacher | "
                  "all-pixel F1 − teacher |", "|---|---:|---:|---:|"] + rows
    if unpaired:
        lines += ["", f"Not paired with the teacher (measured on other blocks or without them; `frd-q cards` "
                  f"re-measures): {', '.join(unpaired)}."]
    return lines


def cards_markdown(out: Path) -> str:
    """checkpoints/README.md: an index table and one section per card, in name order."""
    cards = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    lines = ["# Shipped models", "",
             "Written by `frd-q ship` (frd_q/apps/ship.py); every figure is measured on the test split, which chose "
             "nothing.", "`frd-q evaluate --checkpoint checkpoints/<name>.pt --sources configs/splits/test.yaml` "
             "reproduces a table.", "",
             "| model | parameters | steps | test F1, dataset mean [95 %] | test F1, LEVIR-CD [95 %] | "
             "test kappa, LEVIR-CD | MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    for c in cards:
        levir = c["test"].get("LEVIR-CD", {})
        lines.append(f"| {c['name']} | {c['parameters'] / 1e6:.3f} M | {c['step']} | {_f1_cell(c, 'dataset mean')} | "
                     f"{_f1_cell(c, 'LEVIR-CD')} | {100 * levir.get('kappa', float('nan')):.1f} | {c['bytes'] / 1e6:.2f} |")
    lines += _against_teacher(cards)
    lines.append("")
    for c in cards:
        lines += _card_section(c)
    return "\n".join(lines)
