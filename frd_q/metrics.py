"""Change-class metrics accumulated over all pixels of all pairs (micro average).

With TP, FP, FN, TN counted over every valid pixel (change = positive class):
    precision = TP / (TP + FP)          recall = TP / (TP + FN)
    f1        = 2 TP / (2 TP + FP + FN)  iou    = TP / (TP + FP + FN)
    oa        = (TP + TN) / N
    kappa     = (oa - pe) / (1 - pe),   pe = ((TP+FP)(TP+FN) + (FN+TN)(FP+TN)) / N^2
A ratio whose denominator is 0 is reported as 0.0, except kappa when pe = 1: 1.0 if oa = 1 (both maps are one
and the same single class), else 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRIC_KEYS = ("precision", "recall", "f1", "iou", "oa", "kappa")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def update(self, pred, target, valid=None) -> Confusion:
        """Add binary maps (any array-likes of equal shape; `valid` masks pixels out)."""
        pred, target = np.asarray(pred).astype(bool), np.asarray(target).astype(bool)
        if pred.shape != target.shape:
            raise ValueError(f"prediction shape {pred.shape} != target shape {target.shape}")
        if valid is not None:
            valid = np.asarray(valid).astype(bool)
            pred, target = pred[valid], target[valid]
        self.tp += int(np.count_nonzero(pred & target))
        self.fp += int(np.count_nonzero(pred & ~target))
        self.fn += int(np.count_nonzero(~pred & target))
        self.tn += int(np.count_nonzero(~pred & ~target))
        return self

    def __iadd__(self, other: Confusion) -> Confusion:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn
        return self

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def metrics(self) -> dict[str, float]:
        tp, fp, fn, tn, n = self.tp, self.fp, self.fn, self.tn, self.total
        oa = _ratio(tp + tn, n)
        pe = _ratio((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn), n * n)
        kappa = (oa - pe) / (1.0 - pe) if pe < 1.0 else (1.0 if oa == 1.0 else 0.0)
        return {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "iou": _ratio(tp, tp + fp + fn),
            "oa": oa,
            "kappa": kappa,
        }


def dataset_mean(per_dataset: dict[str, Confusion]) -> dict[str, float]:
    """Each metric averaged over datasets (every dataset weighs the same, however many pixels it has)."""
    rows = [c.metrics() for c in per_dataset.values()]
    return {k: float(np.mean([r[k] for r in rows])) if rows else 0.0 for k in METRIC_KEYS}


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """A fixed-width table: one row per name, one column per metric (in percent)."""
    width = max([len("set")] + [len(k) for k in rows])
    head = f"{'set':<{width}}  " + "  ".join(f"{k:>9}" for k in METRIC_KEYS)
    lines = [head, "-" * len(head)]
    for name, m in rows.items():
        lines.append(f"{name:<{width}}  " + "  ".join(f"{100 * m[k]:9.2f}" for k in METRIC_KEYS))
    return "\n".join(lines)
