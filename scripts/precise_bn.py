"""Are a checkpoint's BatchNorm running statistics the problem? Training sees batches of 8 crops of 128² (half of
them centred on change); the running averages may not describe full 256² tiles. This re-estimates every BatchNorm's
statistics as a plain average over `--tiles` full training tiles, then validates before and after on the val
split (same threshold scan as training).

    .venv/bin/python scripts/precise_bn.py --checkpoint runs/teacher/best.pt [--tiles 96]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch

from frd_q.data.dataset import TileDataset, collate, load_pairs, scan_sources
from frd_q.train.checkpoint import load_model
from frd_q.train.loop import validation_metrics


def reestimate(model: torch.nn.Module, tiles: TileDataset, n: int, seed: int = 0) -> int:
    """Replace every BatchNorm's running mean/var by the average over n random tiles; returns how many norms."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    picks = np.random.default_rng(seed).choice(len(tiles), size=min(n, len(tiles)), replace=False)
    with torch.no_grad():
        for start in range(0, len(picks), 8):
            batch = collate([tiles[int(i)] for i in picks[start:start + 8]])
            model(batch["a"], batch["b"])
    model.eval()
    return len(norms)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--tiles", type=int, default=96)
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    model, cfg, _ = load_model(args.checkpoint)
    val = load_pairs(scan_sources(cfg.data.val), cfg.data.in_channels, cfg.data.label_threshold)
    keys = ("f1", "f1_mean", "threshold", "f1_mean_at_threshold")
    before = validation_metrics(model, val, cfg.data.tile_size, "cpu")
    print("running statistics from training:", {k: round(before[k], 4) for k in keys})
    tiles = TileDataset(load_pairs(scan_sources(cfg.data.train), cfg.data.in_channels, cfg.data.label_threshold),
                        cfg.data.tile_size)
    n = reestimate(model, tiles, args.tiles)
    after = validation_metrics(model, val, cfg.data.tile_size, "cpu")
    print(f"re-estimated on {min(args.tiles, len(tiles))} full training tiles ({n} norms):",
          {k: round(after[k], 4) for k in keys})


if __name__ == "__main__":
    main()
