"""One markdown row per training run from its val_log.csv: the best dataset-mean validation F1 (and its step),
the last one, the best after scanning the decision threshold, and precision/recall at the best step.

    .venv/bin/python scripts/val_summary.py runs/recipe/*
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def summary(run: Path) -> str | None:
    log = run / "val_log.csv"
    if not log.is_file():
        return None
    rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(log.open())]
    if not rows:
        return None
    best = max(rows, key=lambda r: r["f1_mean"])
    last = rows[-1]
    tuned = max(rows, key=lambda r: r["f1_mean_at_threshold"])
    return (f"| {run.name} | {int(last['step'])} | {best['f1_mean']:.3f} ({int(best['step'])}) | {last['f1_mean']:.3f} "
            f"| {tuned['f1_mean_at_threshold']:.3f} (> {tuned['threshold']:g}, {int(tuned['step'])}) "
            f"| {best['precision']:.3f} / {best['recall']:.3f} | {best['kappa']:.3f} |")


def main() -> None:
    print("| run | steps | best val mean F1 (step) | last | best with threshold (t, step) | P / R at best | kappa at best |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for arg in sys.argv[1:]:
        line = summary(Path(arg))
        if line:
            print(line)


if __name__ == "__main__":
    main()
