"""How much F1 a change map loses by being made at a coarser stride: each label is average-pooled by the stride,
upsampled bilinearly to full size (as the teacher's stride-2 logits are) and thresholded at 0.5, then scored
against itself, per dataset. A ceiling for any model whose output has that stride.

    .venv/bin/python scripts/label_resolution.py --sources configs/splits/val.yaml --stride 2 4
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from frd_q.config import load_sources
from frd_q.data.dataset import load_pairs, scan_sources
from frd_q.metrics import Confusion


def coarse(label, stride: int):
    """The label seen through a map `stride` times coarser: pooled, upsampled bilinearly, > 0.5."""
    t = torch.from_numpy(label).float()[None, None]
    h, w = t.shape[-2:]
    pooled = F.avg_pool2d(t, stride, ceil_mode=True)
    return (F.interpolate(pooled, size=(h, w), mode="bilinear", align_corners=False) > 0.5)[0, 0].numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", required=True, help="YAML list of data sources (configs/splits/*.yaml)")
    ap.add_argument("--stride", type=int, nargs="+", default=[2])
    args = ap.parse_args()
    pairs = load_pairs(scan_sources(load_sources(args.sources)))
    print("| dataset | " + " | ".join(f"F1 at stride {s}" for s in args.stride) + " |")
    print("|---|" + "---:|" * len(args.stride))
    for dataset in sorted({p.record.dataset for p in pairs}):
        cells = []
        for s in args.stride:
            c = Confusion()
            for p in (p for p in pairs if p.record.dataset == dataset):
                c.update(coarse(p.label, s), p.label)
            cells.append(f"{100 * c.metrics()['f1']:.1f}")
        print(f"| {dataset} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
