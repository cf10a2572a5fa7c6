"""Supervised change loss: weighted BCE plus soft Dice on the change class, both restricted to valid pixels.

    bce  = mean over valid pixels of  -[w y log s(z) + (1 - y) log(1 - s(z))],  w = pos_weight
    dice = 1 - (2 sum(p y) + 1) / (sum(p) + sum(y) + 1),  p = s(z), sums over the valid pixels of the batch
    loss = cfg.bce * bce + cfg.dice * dice

Most real scenes have under 5 % changed pixels: `pos_weight` lifts the rare class in BCE and Dice does not depend on
the class balance. `auto_pos_weight` gives the default sqrt(unchanged / changed), clipped to [1, 10].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from frd_q.config import LossConfig


def auto_pos_weight(change_fraction: float) -> float:
    if change_fraction <= 0:
        return 1.0
    return float(min(10.0, max(1.0, math.sqrt((1 - change_fraction) / change_fraction))))


class ChangeLoss(nn.Module):
    def __init__(self, cfg: LossConfig, pos_weight: float):
        super().__init__()
        self.cfg, self.pos_weight = cfg, pos_weight

    def forward(self, logits: torch.Tensor, label: torch.Tensor, valid: torch.Tensor):
        """logits (N,1,H,W), label (N,H,W) in {0,1}, valid (N,H,W) bool -> (total, {term: value})."""
        z, y, m = logits[:, 0].float(), label.float(), valid.float()  # float32 also under bf16 autocast
        w = torch.as_tensor(self.pos_weight, dtype=z.dtype, device=z.device)
        bce = F.binary_cross_entropy_with_logits(z, y, pos_weight=w, reduction="none")
        bce = (bce * m).sum() / m.sum().clamp_min(1.0)
        p = torch.sigmoid(z) * m
        dice = 1.0 - (2.0 * (p * y).sum() + 1.0) / (p.sum() + (y * m).sum() + 1.0)
        total = self.cfg.bce * bce + self.cfg.dice * dice
        return total, {"bce": bce.detach(), "dice": dice.detach()}
