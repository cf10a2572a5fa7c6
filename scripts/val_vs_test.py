"""Does val rank training runs the way test does? For each run: its best val dataset-mean F1 (runs/<name>/
val_log.csv) and its test dataset-mean and all-pixel F1 (runs/<name>.test.txt, the saved output of
`frd-q evaluate --checkpoint runs/<name>/best.pt --sources configs/splits/test.yaml`); then the Spearman rank
correlation of val against each (average ranks for ties). Runs without both files are listed as skipped.

    .venv/bin/python scripts/val_vs_test.py runs/student_w4a4_t2_*
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from pathlib import Path

ROW = re.compile(r"^(dataset mean|all) \(\d+(?: pairs)?\)\s+([-\d. ]+)$")  # precision recall f1 iou oa kappa


def read_test_f1(report: Path) -> dict[str, float]:
    found = {}
    for line in report.read_text().splitlines():
        m = ROW.match(line.strip())
        if m:
            found[m.group(1)] = float(m.group(2).split()[2])
    if set(found) != {"dataset mean", "all"}:
        raise SystemExit(f"{report}: no 'dataset mean' and 'all' rows: not the output of frd-q evaluate")
    return found


def best_val(log: Path) -> float:
    rows = list(csv.DictReader(log.open()))
    if not rows:
        raise SystemExit(f"{log}: no validation rows")
    return max(float(r["f1_mean"]) for r in rows)


def ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=xs.__getitem__)
    out = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    return statistics.correlation(ranks(a), ranks(b))


def main() -> None:
    runs = []
    for arg in sys.argv[1:]:
        run = Path(arg.rstrip("/"))
        log, report = run / "val_log.csv", run.with_name(run.name + ".test.txt")
        if not (log.is_file() and report.is_file()):
            print(f"skipped {run}: needs {log} and {report}", file=sys.stderr)
            continue
        runs.append((run.name, best_val(log), read_test_f1(report)))
    if len(runs) < 3:
        raise SystemExit("need at least 3 runs with a val_log.csv and a .test.txt")
    print("| run | best val mean F1 | test mean F1 | test all F1 |")
    print("|---|---:|---:|---:|")
    for name, val, test in runs:
        print(f"| {name} | {val:.3f} | {test['dataset mean']:.1f} | {test['all']:.1f} |")
    vals = [r[1] for r in runs]
    for key in ("dataset mean", "all"):
        print(f"Spearman(val, test {key}) over {len(runs)} runs: {spearman(vals, [r[2][key] for r in runs]):+.2f}")


if __name__ == "__main__":
    main()
