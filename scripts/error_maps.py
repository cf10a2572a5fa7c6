"""Where models err on the pairs of a split: one row per pair (A, B, ground truth, then each checkpoint's errors at
its own val-chosen threshold: true changes white, false alarms red, misses blue), each panel titled with its F1.

    .venv/bin/python scripts/error_maps.py --sources configs/splits/test.yaml --datasets INLPG_Beijing EGY-BCD_NCC \
        --checkpoint checkpoints/teacher.pt checkpoints/student_w4a4.pt checkpoints/student_w4a4_frd.pt \
        --out docs/img/errors_test.png
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from frd_q.config import load_sources
from frd_q.data.dataset import load_pairs, scan_sources
from frd_q.errors import FrdError
from frd_q.fsutil import atomic_path
from frd_q.infer import predict_logits
from frd_q.metrics import Confusion
from frd_q.train.checkpoint import decision_threshold, load_model

WHITE, RED, BLUE = (255, 255, 255), (230, 40, 40), (40, 110, 255)


def error_rgb(pred: np.ndarray, label: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 image of a change map against its label: hits white, false alarms red, misses blue, the
    unchanged pixels it left alone black."""
    if pred.shape != label.shape:
        raise ValueError(f"prediction {pred.shape} and label {label.shape} differ in size")
    pred, label = pred.astype(bool), label.astype(bool)
    rgb = np.zeros(pred.shape + (3,), np.uint8)
    rgb[pred & label] = WHITE
    rgb[pred & ~label] = RED
    rgb[~pred & label] = BLUE
    return rgb


def render(checkpoints: list[str], pairs, out: Path, tile: int | None = None) -> list[list[tuple[float, int, int]]]:
    """Write the figure; return, per pair in row order, each checkpoint's (F1 in percent, false alarms, misses)."""
    from matplotlib.figure import Figure

    models = []
    for path in checkpoints:
        model, cfg, ckpt = load_model(path)
        models.append((Path(path).stem, model.eval(), tile or cfg.data.tile_size, decision_threshold(ckpt)))
    cols = 3 + len(models)
    fig = Figure(figsize=(1.9 * cols, 2.05 * len(pairs)), dpi=110, layout="constrained")
    axes = fig.subplots(len(pairs), cols, squeeze=False)
    scores = []
    for row, p in zip(axes, pairs):
        panels = [("A", p.a[..., :3]), ("B", p.b[..., :3]), ("ground truth", p.label.astype(bool))]
        row_scores = []
        for name, model, model_tile, threshold in models:
            pred = predict_logits(model, p.a, p.b, model_tile) > threshold
            c = Confusion()
            c.update(pred, p.label)
            row_scores.append((100 * c.metrics()["f1"], c.fp, c.fn))
            panels.append((f"{name}: F1 {row_scores[-1][0]:.1f}", error_rgb(pred, p.label)))
        scores.append(row_scores)
        for ax, (title, img) in zip(row, panels):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=7)
        row[0].set_ylabel(f"{p.record.dataset}/{p.record.name}"[:32], fontsize=6)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    with atomic_path(out) as tmp:  # a 128-colour palette: a third of the bytes
        Image.open(buffer).convert("RGB").quantize(128, method=Image.Quantize.MEDIANCUT).save(tmp, format="png",
                                                                                                optimize=True)
    return scores


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", required=True, help="YAML list of data sources (configs/splits/*.yaml)")
    ap.add_argument("--checkpoint", nargs="+", required=True, help="checkpoints, one column each")
    ap.add_argument("--datasets", nargs="*", default=None, help="only the pairs of these datasets (default: all)")
    ap.add_argument("--out", required=True, help="PNG to write")
    args = ap.parse_args(argv)
    try:  # a missing or corrupt source file or checkpoint: one line naming it, no figure written
        pairs = load_pairs(scan_sources(load_sources(args.sources)))
        if args.datasets:
            known = {p.record.dataset for p in pairs}
            unknown = sorted(set(args.datasets) - known)
            if unknown:
                raise SystemExit(f"error: {args.sources} has no pairs of {', '.join(unknown)} "
                                 f"(its datasets: {', '.join(sorted(known))})")
            pairs = [p for p in pairs if p.record.dataset in args.datasets]
        scores = render(args.checkpoint, pairs, Path(args.out))
    except FrdError as e:
        raise SystemExit(f"error: {e}")
    names = [Path(c).stem for c in args.checkpoint]
    print("pair | " + " | ".join(f"{n}: F1 (false alarms, misses)" for n in names))
    for p, row in zip(pairs, scores):
        print(f"{p.record.dataset}/{p.record.name} | " + " | ".join(f"{f:.1f} ({fp}, {fn})" for f, fp, fn in row))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
