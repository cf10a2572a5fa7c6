"""Training augmentations that keep the two dates and the mask aligned.

All randomness comes from the `numpy.random.Generator` passed in, so a batch is a pure function of (seed, step):
this is what makes a resumed run identical to an uninterrupted one.
  geometric (same for A, B, label, valid): horizontal/vertical flip, rotation by k*90 degrees
  temporal: swap A and B (a change mask does not depend on the order of the dates)
  photometric (independent per date, images only): contrast c in [1-j, 1+j], brightness d in [-j, j]
  scale (`rescale`, applied by the training loop before the others): a window of any size resized to the crop size,
  images bilinear (antialiased when shrinking), label and valid mask nearest
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from frd_q.config import AugmentConfig


def augment(sample: dict, cfg: AugmentConfig, rng: np.random.Generator) -> dict:
    """Return a new sample dict ('a', 'b': float32 (C,H,W); 'label', 'valid': (H,W)) augmented by `rng`."""
    a, b, label, valid = sample["a"], sample["b"], sample["label"], sample["valid"]
    # always draw the same number of values, whatever is enabled, so configs differ only in what they apply
    flip_h, flip_v, swap = rng.random(3)
    k = int(rng.integers(4))
    gains = rng.uniform(1 - cfg.jitter, 1 + cfg.jitter, 2)
    shifts = rng.uniform(-cfg.jitter, cfg.jitter, 2)

    def geo(x):
        if cfg.flip and flip_h < 0.5:
            x = x[..., :, ::-1]
        if cfg.flip and flip_v < 0.5:
            x = x[..., ::-1, :]
        if cfg.rot90 and k:
            x = np.rot90(x, k, axes=(-2, -1))
        return np.ascontiguousarray(x)

    a, b, label, valid = geo(a), geo(b), geo(label), geo(valid)
    if swap < cfg.swap:
        a, b = b, a
    if cfg.jitter > 0:
        a = np.clip(a * gains[0] + shifts[0], 0.0, 1.0).astype(np.float32)
        b = np.clip(b * gains[1] + shifts[1], 0.0, 1.0).astype(np.float32)
    return {**sample, "a": a, "b": b, "label": label, "valid": valid}


def rescale(sample: dict, size: int) -> dict:
    """Resize a square sample to `size`x`size`: both dates bilinear, label and valid mask nearest (they stay binary)."""
    ab = torch.from_numpy(np.stack([sample["a"], sample["b"]]))
    ab = F.interpolate(ab, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    masks = torch.from_numpy(np.stack([sample["label"], sample["valid"].astype(np.float32)]))[None]
    label, valid = F.interpolate(masks, size=(size, size), mode="nearest")[0]
    return {**sample, "a": ab[0].clamp(0, 1).numpy(), "b": ab[1].clamp(0, 1).numpy(),
            "label": label.numpy(), "valid": valid.numpy() > 0.5}
