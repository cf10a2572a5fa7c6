"""Full-image inference by tiling, and evaluation over pairs.

Images of any size are cut into `tile`-sized windows (ragged edges mirrored), each window is run through the
model, overlapping logits are blended, and the result is cropped back to the image size: frd_q.scene's engine,
the one that streams whole scenes, here on images held in memory. It serves validation during training and
`frd-q evaluate`; `frd-q predict` and its outputs (masks, overlays, regions) are frd_q.scene.
"""

from __future__ import annotations

import numpy as np
import torch

from frd_q.data.dataset import LoadedPair
from frd_q.errors import ConfigError
from frd_q.metrics import Confusion
from frd_q.scene import ArraySink, ArraySource, TorchRunner, predict_scene


def predict_logits(model, a: np.ndarray, b: np.ndarray, tile: int = 256, overlap: int = 0,
                   batch_size: int = 4, device: str | torch.device = "cpu") -> np.ndarray:
    """Change logits (H, W) for uint8 (H, W, C) images a, b of any size (frd_q.scene's tiling and blending);
    the raw logits, decision threshold not applied."""
    if tile % model.size_multiple:
        raise ConfigError(f"tile size {tile} is not a multiple of the model's {model.size_multiple}")
    sink = ArraySink(*a.shape[:2])
    predict_scene(ArraySource(a, "A"), ArraySource(b, "B"), TorchRunner(model, device), tile, overlap, [sink],
                  batch_size)
    return sink.logits


def evaluate_pairs(model, pairs: list[LoadedPair], tile: int = 256, overlap: int = 0,
                   device: str | torch.device = "cpu", threshold: float = 0.0) -> tuple[Confusion, dict[str, Confusion]]:
    """Overall and per-dataset confusion counts over full images (change = logit > threshold)."""
    per_dataset = scan_pairs(model, pairs, (threshold,), tile, overlap, device)
    total = Confusion()
    for counts in per_dataset.values():
        total += counts[0]
    return total, {k: counts[0] for k, counts in per_dataset.items()}


def scan_pairs(model, pairs: list[LoadedPair], thresholds, tile: int = 256, overlap: int = 0,
               device: str | torch.device = "cpu") -> dict[str, list[Confusion]]:
    """Per dataset, one Confusion per threshold t (change = logit > t), from one inference pass over the pairs."""
    per_dataset: dict[str, list[Confusion]] = {}
    for p in pairs:
        logits = predict_logits(model, p.a, p.b, tile, overlap, device=device)
        counts = per_dataset.setdefault(p.record.dataset or "all", [Confusion() for _ in thresholds])
        for c, t in zip(counts, thresholds):
            c.update(logits > t, p.label)
    return per_dataset
