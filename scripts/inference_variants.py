"""What inference-time changes do to a trained model on a split, without training: test-time augmentation (the
logits averaged over n of the 8 flips/rotations of the square, each undone before averaging), overlapping windows
(blended as frd_q.scene does), and a weight average ("soup") of several checkpoints of one model, e.g. fine-tunes
that share a starting point. Every variant is scored as validation scores a run: the dataset-mean F1 at logit > 0,
the scanned threshold with the best dataset-mean F1, that mean, and each dataset's F1 at that threshold.

    .venv/bin/python scripts/inference_variants.py --checkpoint checkpoints/teacher.pt \\
        --sources configs/splits/val.yaml --tta 1 4 8 --overlap 0 32 64

Use it on the val split; a variant chosen on the test split would be selected on the pairs it is reported on.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from frd_q.config import load_sources
from frd_q.data.dataset import load_pairs, scan_sources
from frd_q.infer import scan_pairs
from frd_q.train.checkpoint import load_model
from frd_q.train.loop import VAL_THRESHOLDS, mean_f1_per_threshold
from frd_q.train.soup import load_ingredients, mean_state


def square_transforms(n: int) -> list[tuple[int, bool]]:
    """The first n of the 8 symmetries of the square as (quarter turns, then mirror left-right): identity first,
    then the rotations, then their mirrors."""
    if not 1 <= n <= 8:
        raise ValueError(f"--tta {n}: between 1 and 8 transforms")
    return [(k % 4, k >= 4) for k in range(n)]


class TestTimeAugment(nn.Module):
    """`model` run on each transform of both dates, its logits transformed back and averaged."""

    def __init__(self, model: nn.Module, n: int):
        super().__init__()
        self.model, self.transforms = model, square_transforms(n)
        self.size_multiple = model.size_multiple

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        total = 0
        for turns, mirror in self.transforms:
            def there(x):
                x = torch.rot90(x, turns, (2, 3))
                return torch.flip(x, (3,)) if mirror else x

            def back(y):
                y = torch.flip(y, (3,)) if mirror else y
                return torch.rot90(y, -turns, (2, 3))

            total = total + back(self.model(there(a), there(b)))
        return total / len(self.transforms)


def soup(paths: list[str]):
    """The model of one checkpoint, or of several with every floating-point tensor of the state averaged
    (frd_q.train.soup: weights and BatchNorm statistics; integer buffers are the first one's)."""
    if len(paths) == 1:
        model, cfg, _ = load_model(paths[0])
        return model.eval(), cfg
    model, cfgs, ckpts = load_ingredients(paths)
    model.load_state_dict(mean_state([c["model"] for c in ckpts]))
    return model.eval(), cfgs[0]


def score(model, pairs, overlap: int, tile: int) -> dict:
    """Validation's figures for `model` over `pairs` (one inference pass, every scanned threshold)."""
    scan = scan_pairs(model, pairs, VAL_THRESHOLDS, tile, overlap)
    means, best = mean_f1_per_threshold(scan)
    return {"f1_mean_at_0": means[VAL_THRESHOLDS.index(0.0)], "threshold": VAL_THRESHOLDS[best],
            "f1_mean": means[best], "per_dataset": {k: c[best].metrics()["f1"] for k, c in scan.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", nargs="+", required=True, help="one checkpoint, or several of one model to soup")
    ap.add_argument("--sources", required=True, help="YAML list of data sources (configs/splits/val.yaml)")
    ap.add_argument("--tta", type=int, nargs="+", default=[1], help="transforms averaged (1 = none, up to 8)")
    ap.add_argument("--overlap", type=int, nargs="+", default=[0], help="pixels shared by neighbouring windows")
    args = ap.parse_args()
    for n in args.tta:
        square_transforms(n)  # a bad --tta fails before any inference
    model, cfg = soup(args.checkpoint)
    pairs = load_pairs(scan_sources(load_sources(args.sources)), cfg.data.in_channels, cfg.data.label_threshold)
    rows = []
    for n in args.tta:
        for overlap in args.overlap:
            net = TestTimeAugment(model, n) if n > 1 else model
            rows.append((n, overlap, score(net, pairs, overlap, cfg.data.tile_size)))
    datasets = sorted(rows[0][2]["per_dataset"])
    what = " + ".join(args.checkpoint) if len(args.checkpoint) > 1 else args.checkpoint[0]
    print(f"{what} on {args.sources} ({len(pairs)} pairs); F1 per dataset at the best threshold")
    print("| tta | overlap | mean F1 at 0 | threshold | mean F1 | " + " | ".join(datasets) + " |")
    print("|---:|---:|---:|---:|---:|" + "---:|" * len(datasets))
    for n, overlap, r in rows:
        print(f"| {n} | {overlap} | {r['f1_mean_at_0']:.3f} | {r['threshold']:g} | {r['f1_mean']:.3f} | "
              + " | ".join(f"{r['per_dataset'][d]:.3f}" for d in datasets) + " |")


if __name__ == "__main__":
    main()
