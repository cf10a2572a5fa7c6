"""`frd-q compare`: several checkpoints on the same pairs, with paired block-bootstrap confidence intervals.

    frd-q compare --checkpoint checkpoints/teacher.pt checkpoints/student_w4a4_frd.pt \\
                  --sources configs/splits/test.yaml [--block 64] [--resamples 2000] [--seed 0] [--json OUT]
    frd-q compare --group none runs/none_s0/best.pt runs/none_s1/best.pt \\
                  --group frd runs/frd_s0/best.pt runs/frd_s1/best.pt --sources configs/splits/test.yaml

The test split is 11 pairs or windows of 7 datasets, most datasets with one window, so a figure such as "the
student is 7.4 points below the teacher" needs a margin. Each model decides change = logit > its own threshold
(the checkpoint's, chosen on val), and its decisions are counted (TP, FP, FN, TN) per block of `block` x `block`
pixels of every pair (edge blocks are smaller). One bootstrap resample draws, inside each dataset, as many blocks
as that dataset has, with replacement (stratified, so every dataset stays in the dataset mean with its own
pixels); the figures are computed from the drawn blocks' summed counts. A resample in which some dataset's drawn
blocks hold no changed pixel is drawn again: F1 has no meaning there, every dataset of the test split has
change, and without the redraw a dataset with change in few blocks would add a tail of resamples where every
model scores 0 on it. The same draw serves every model, so the
differences between models are paired: a block both get wrong counts against both. The interval is the
percentile interval of the resampled figures; `p_above` is the share of resamples in which a model's figure is
above the first model's. A `--group` row is the mean of several checkpoints' figures (the seeds of one variant),
in the point figure and in every resample, so a difference of groups is the seed-averaged paired difference; the
spread between the seeds is printed beside it and is not in the interval.

What the intervals measure: how much the figures depend on which parts of these test scenes were scored. What
they do not: other scenes, sensors or seasons, and the training seed (retrain for that, docs/frd.md).
Neighbouring blocks of one scene are correlated, so if anything the intervals are too narrow; a larger
`--block` shows how much they move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from frd_q.errors import ConfigError


def check_settings(block: int, resamples: int, level: float) -> None:
    """ConfigError unless block >= 1, resamples >= 1 and 0 < level < 1 (checked before any model runs)."""
    if block < 1 or resamples < 1 or not 0 < level < 1:
        raise ConfigError(f"--block {block}, --resamples {resamples}, --level {level}: block and resamples must be "
                          ">= 1, level between 0 and 1")


def block_counts(pred: np.ndarray, label: np.ndarray, block: int) -> np.ndarray:
    """(n_blocks, 4) int64 counts TP, FP, FN, TN of binary maps (H, W) per block x block block, row-major; the
    last row and column of blocks are smaller where H or W is not a multiple of `block`."""
    pred, label = np.asarray(pred).astype(bool), np.asarray(label).astype(bool)
    if pred.shape != label.shape or pred.ndim != 2:
        raise ValueError(f"prediction {pred.shape} and label {label.shape} must be one (H, W) shape")
    if block < 1:
        raise ConfigError(f"block size {block}: must be >= 1")
    rows, cols = np.arange(0, pred.shape[0], block), np.arange(0, pred.shape[1], block)
    maps = (pred & label, pred & ~label, ~pred & label, ~pred & ~label)
    sums = [np.add.reduceat(np.add.reduceat(m.astype(np.int64), rows, axis=0), cols, axis=1).ravel() for m in maps]
    return np.stack(sums, axis=1)


def f1_of(counts: np.ndarray) -> np.ndarray:
    """F1 = 2 TP / (2 TP + FP + FN) over the last axis of (..., 4) counts; 0 where the denominator is 0."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)


def draw(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, n) counts of how often each of n blocks is drawn in n draws with replacement."""
    drawn = rng.integers(0, n, size=(resamples, n))
    w = np.zeros((resamples, n), dtype=np.int64)
    np.add.at(w, (np.repeat(np.arange(resamples), n), drawn.ravel()), 1)
    return w


def stratified_weights(positives: dict[str, np.ndarray], resamples: int, rng: np.random.Generator,
                       max_redraws: int = 1000) -> tuple[dict[str, np.ndarray], int]:
    """Per stratum (dataset) of n blocks with positives[stratum] changed pixels each: (resamples, n) draw counts,
    and how many resamples were drawn again because they held no changed pixel of some stratum (F1 has no
    meaning there, and every stratum of the real test set has change)."""
    weights, redrawn = {}, 0
    for name, pos in positives.items():
        if len(pos) < 1:
            raise ConfigError(f"dataset {name}: no blocks to resample")
        if not pos.any():
            raise ConfigError(f"dataset {name}: no changed pixel in any block, so its F1 has no meaning")
        w = draw(len(pos), resamples, rng)
        for _ in range(max_redraws):
            empty = np.flatnonzero(w @ pos == 0)
            if not len(empty):
                break
            redrawn += len(empty)
            w[empty] = draw(len(pos), len(empty), rng)
        else:
            raise ConfigError(f"dataset {name}: change in too few of its {len(pos)} blocks to resample")
        weights[name] = w
    return weights, redrawn


def figures(per_dataset: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """From per-dataset summed counts (..., 4): the dataset-mean F1, the all-pixel F1 and each dataset's F1."""
    per = {k: f1_of(v) for k, v in per_dataset.items()}
    return {"f1_mean": np.mean(np.stack(list(per.values())), axis=0),
            "f1_all": f1_of(sum(per_dataset.values())),
            **{f"f1[{k}]": v for k, v in per.items()}}


@dataclass
class Row:
    """One row of a comparison: a checkpoint, or a group of checkpoints (e.g. the seeds of one variant) whose
    figures are the mean of its members' figures, in the point estimate and in every resample."""

    name: str
    members: list[str]
    thresholds: list[float]
    member_f1_mean: list[float]  #: each member's dataset-mean F1 (the spread over seeds, for a group)


@dataclass
class Comparison:
    """The point figures of each row, their bootstrap samples (resamples, rows) and the settings."""

    rows: list[Row]
    datasets: dict[str, int]  #: blocks per dataset
    point: dict[str, np.ndarray]  #: figure -> (rows,)
    samples: dict[str, np.ndarray]  #: figure -> (resamples, rows)
    block: int
    resamples: int
    seed: int
    level: float
    pairs: int = 0
    redrawn: int = 0  #: draws repeated because a dataset's drawn blocks held no changed pixel
    changed: dict[str, int] = field(default_factory=dict)  #: the label's changed pixels per dataset

    def interval(self, figure: str, row: int, against: int | None = None) -> tuple[float, float]:
        """The percentile interval of a row's figure, or of its paired difference to row `against`."""
        s = self.samples[figure][:, row]
        if against is not None:
            s = s - self.samples[figure][:, against]
        tail = 50 * (1 - self.level)
        lo, hi = np.percentile(s, [tail, 100 - tail])
        return float(lo), float(hi)

    def p_above(self, figure: str, row: int, against: int) -> float:
        """Share of resamples in which `row`'s figure is above `against`'s."""
        s = self.samples[figure]
        return float(np.mean(s[:, row] > s[:, against]))

    def to_dict(self) -> dict:
        figs = list(self.point)
        out = {"block": self.block, "resamples": self.resamples, "seed": self.seed, "level": self.level,
               "pairs": self.pairs, "redrawn": self.redrawn, "blocks_per_dataset": self.datasets,
               "changed_pixels_per_dataset": self.changed, "rows": []}
        for m, row in enumerate(self.rows):
            entry = {"name": row.name, "checkpoints": row.members, "thresholds": row.thresholds,
                     "member_f1_mean": row.member_f1_mean,
                     "figures": {f: {"value": float(self.point[f][m]), "interval": self.interval(f, m)} for f in figs}}
            if m:
                entry["difference_to_first"] = {
                    f: {"value": float(self.point[f][m] - self.point[f][0]), "interval": self.interval(f, m, 0),
                        "p_above": self.p_above(f, m, 0)} for f in figs}
            out["rows"].append(entry)
        return out


def bootstrap(per_model: list[dict[str, np.ndarray]], names: list[str], thresholds: list[float], block: int,
              resamples: int = 2000, seed: int = 0, level: float = 0.95, pairs: int = 0,
              groups: list[tuple[str, list[int]]] | None = None) -> Comparison:
    """Paired, dataset-stratified bootstrap over blocks: per_model[m][dataset] is model m's (n_blocks, 4) counts,
    the same blocks in the same order for every model. `groups` (name, [model indices]) makes the rows; by default
    every model is its own row."""
    if not per_model:
        raise ConfigError("compare needs at least one checkpoint")
    check_settings(block, resamples, level)
    sizes = {k: len(v) for k, v in per_model[0].items()}
    for name, counts in zip(names, per_model):
        if {k: len(v) for k, v in counts.items()} != sizes:
            raise ValueError(f"{name}: counted on other blocks than {names[0]}")
    positives = {k: v[:, 0] + v[:, 2] for k, v in per_model[0].items()}  # TP + FN: the label's changed pixels
    for name, counts in zip(names, per_model):
        if any(not np.array_equal(v[:, 0] + v[:, 2], positives[k]) for k, v in counts.items()):
            raise ValueError(f"{name}: counted against other labels than {names[0]}")
    weights, redrawn = stratified_weights(positives, resamples, np.random.default_rng(seed))
    point, samples = [], []  # per model: figure -> value, figure -> (resamples,)
    for counts in per_model:
        point.append(figures({k: v.sum(axis=0) for k, v in counts.items()}))
        samples.append(figures({k: weights[k] @ v for k, v in counts.items()}))
    groups = groups or [(n, [m]) for m, n in enumerate(names)]
    rows = [Row(name, [names[m] for m in idx], [thresholds[m] for m in idx],
                [float(point[m]["f1_mean"]) for m in idx]) for name, idx in groups]
    figs = list(point[0])
    return Comparison(rows, sizes,
                      {f: np.array([np.mean([point[m][f] for m in idx]) for _, idx in groups]) for f in figs},
                      {f: np.stack([np.mean([samples[m][f] for m in idx], axis=0) for _, idx in groups], axis=1)
                       for f in figs},
                      block, resamples, seed, level, pairs, redrawn,
                      {k: int(v.sum()) for k, v in positives.items()})


def count_models(checkpoints: list[str], records, block: int, device="cpu", log=print):
    """Load each checkpoint, run it over the pairs of `records` at its own tile size and decision threshold, and
    return ([per-dataset (n_blocks, 4) counts of each], [threshold of each], number of pairs)."""
    from frd_q.data.dataset import load_pairs
    from frd_q.train.checkpoint import decision_threshold, load_model

    loaded = [load_model(path) for path in checkpoints]  # every file is checked before any is run
    key = (loaded[0][1].data.in_channels, loaded[0][1].data.label_threshold)
    for path, (_, cfg, _) in zip(checkpoints, loaded):
        if (cfg.data.in_channels, cfg.data.label_threshold) != key:
            raise ConfigError(f"{path}: reads the pairs as {cfg.data.in_channels} channels, label threshold "
                              f"{cfg.data.label_threshold}; {checkpoints[0]} as {key[0]}, {key[1]}: they cannot be "
                              "compared pixel for pixel")
    pairs = load_pairs(records, *key)
    per_model, thresholds = [], []
    for path, (model, cfg, ckpt) in zip(checkpoints, loaded):
        threshold = decision_threshold(ckpt)
        per_model.append(count_blocks(model, pairs, cfg.data.tile_size, threshold, block, device))
        thresholds.append(threshold)
        log(f"{path}: counted over {len(pairs)} pairs (change = logit > {threshold:g})")
    return per_model, thresholds, len(pairs)


def count_blocks(model, pairs, tile: int, threshold: float, block: int, device="cpu") -> dict[str, np.ndarray]:
    """One model over loaded pairs (full images, tiles of `tile`): per dataset, in name order, the (n_blocks, 4)
    counts TP, FP, FN, TN of change = logit > threshold, the blocks of each pair in pair order."""
    from frd_q.infer import predict_logits

    model = model.to(device).eval()
    counts: dict[str, list[np.ndarray]] = {}
    for p in pairs:
        logits = predict_logits(model, p.a, p.b, tile, device=device)
        counts.setdefault(p.record.dataset or "all", []).append(block_counts(logits > threshold, p.label, block))
    return {k: np.concatenate(v) for k, v in sorted(counts.items())}


def format_comparison(c: Comparison) -> str:
    """The table `frd-q compare` prints: each row's figures with intervals, then the paired differences."""
    pct = round(100 * c.level)
    blocks = sum(c.datasets.values())
    n = len(c.datasets)
    lines = [f"{c.pairs} pairs, {n} dataset{'s' if n != 1 else ''}, {blocks} blocks of {c.block}x{c.block} pixels; "
             f"{c.resamples} resamples (seed {c.seed}), stratified by dataset ({c.redrawn} drawn again for a dataset "
             f"without change); {pct} % percentile intervals, F1 in %"]
    names = [r.name for r in c.rows]
    width = max(len("model"), *(len(n) for n in names))

    def cell(value, lo, hi, signed=False):
        v = f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"
        return f"{v} [{100 * lo:.1f}, {100 * hi:.1f}]"

    lines.append(f"{'model':<{width}}  {'threshold':>9}  {'dataset-mean F1':>22}  {'all-pixel F1':>22}")
    for m, row in enumerate(c.rows):
        t = f"{row.thresholds[0]:g}" if len(row.members) == 1 else "each own"
        lines.append(f"{row.name:<{width}}  {t:>9}  {cell(c.point['f1_mean'][m], *c.interval('f1_mean', m)):>22}  "
                     f"{cell(c.point['f1_all'][m], *c.interval('f1_all', m)):>22}")
    for row in c.rows:
        if len(row.members) > 1:
            each = ", ".join(f"{p} {100 * f:.1f} (> {t:g})"
                             for p, f, t in zip(row.members, row.member_f1_mean, row.thresholds))
            lines.append(f"  {row.name}: the mean of {len(row.members)}, dataset-mean F1 each: {each}")
    if len(c.rows) > 1:
        lines.append(f"paired difference to {names[0]} (share of resamples above it):")
        for m in range(1, len(c.rows)):
            d = {f: c.point[f][m] - c.point[f][0] for f in ("f1_mean", "f1_all")}
            lines.append(f"{names[m]:<{width}}  {'':>9}  "
                         f"{cell(d['f1_mean'], *c.interval('f1_mean', m, 0), signed=True):>22} "
                         f"({c.p_above('f1_mean', m, 0):.2f})  "
                         f"{cell(d['f1_all'], *c.interval('f1_all', m, 0), signed=True):>22} "
                         f"({c.p_above('f1_all', m, 0):.2f})")
        lines.append("per dataset (blocks, changed pixels): F1 of each row in the order above; paired differences "
                     "to the first:")
        for k in c.datasets:
            f = f"f1[{k}]"
            each = " / ".join(f"{100 * c.point[f][m]:.1f}" for m in range(len(c.rows)))
            diffs = ", ".join(cell(c.point[f][m] - c.point[f][0], *c.interval(f, m, 0), signed=True)
                              for m in range(1, len(c.rows)))
            lines.append(f"  {k} ({c.datasets[k]}, {c.changed.get(k, 0)}): {each}; {diffs}")
    return "\n".join(lines)
