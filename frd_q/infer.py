"""Full-image inference by tiling, evaluation over pairs, and change-mask outputs.

Images of any size are cut into `tile`-sized windows (ragged edges mirrored), each window is run through the
model, overlapping logits are blended, and the result is cropped back to the image size: frd_q.scene's engine,
the one that streams whole scenes, here on images held in memory. The same function
serves validation during training, `frd-q evaluate` and `frd-q predict`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from frd_q.data.dataset import LoadedPair
from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path
from frd_q.metrics import Confusion
from frd_q.scene import ArraySink, ArraySource, TorchRunner, predict_scene


def predict_logits(model, a: np.ndarray, b: np.ndarray, tile: int = 256, overlap: int = 0,
                   batch_size: int = 4, device: str | torch.device = "cpu") -> np.ndarray:
    """Change logits (H, W) for uint8 (H, W, C) images a, b of any size (frd_q.scene's tiling and blending)."""
    if tile % model.size_multiple:
        raise ConfigError(f"tile size {tile} is not a multiple of the model's {model.size_multiple}")
    sink = ArraySink(*a.shape[:2])
    predict_scene(ArraySource(a, "A"), ArraySource(b, "B"), TorchRunner(model, device), tile, overlap, [sink],
                  batch_size)
    return sink.logits


def evaluate_pairs(model, pairs: list[LoadedPair], tile: int = 256, overlap: int = 0,
                   device: str | torch.device = "cpu") -> tuple[Confusion, dict[str, Confusion]]:
    """Overall and per-dataset confusion counts over full images (change = logit > 0)."""
    total, per_dataset = Confusion(), {}
    for p in pairs:
        pred = predict_logits(model, p.a, p.b, tile, overlap, device=device) > 0
        c = Confusion().update(pred, p.label)
        total += c
        per_dataset.setdefault(p.record.dataset or "all", Confusion())
        per_dataset[p.record.dataset or "all"] += c
    return total, per_dataset


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Save a boolean (H, W) mask as a 0/255 single-band PNG (atomically)."""
    with atomic_path(path) as tmp:
        Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L").save(tmp)


def write_overlay(path: str | Path, image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> None:
    """Save the RGB image with changed pixels tinted red (atomically)."""
    rgb = image[:, :, :3].astype(np.float32) if image.shape[2] >= 3 else np.repeat(image, 3, 2).astype(np.float32)
    red = np.array([255.0, 0.0, 0.0], np.float32)
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * red
    with atomic_path(path) as tmp:
        Image.fromarray(rgb.round().astype(np.uint8), "RGB").save(tmp)
