"""The contract every change detector in frd_q follows.

    out = model(a, b, return_features=True)
    out.logits       (N, 1, H, W) change logits at input resolution (sigmoid > 0.5 = change)
    out.features_a   per encoder stage, date-1 features, highest resolution first
    out.features_b   the same for date 2 (the encoder is shared, so both come from the same weights)
    out.fused        per stage, the fused bitemporal features the decoder consumes

`model.stage_channels` and `model.stage_strides` describe the feature lists, so the distillation losses can match
a teacher's stages to a student's without running either. Inputs are float images in [0, 1], (N, C, H, W), with
H and W multiples of `model.size_multiple`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class ChangeOutput:
    logits: torch.Tensor  #: (N, 1, H, W) change logits
    features_a: list[torch.Tensor] = field(default_factory=list)  #: per-stage date-1 features
    features_b: list[torch.Tensor] = field(default_factory=list)  #: per-stage date-2 features
    fused: list[torch.Tensor] = field(default_factory=list)  #: per-stage fused features


class ChangeDetector(nn.Module):
    """Base class: subclasses set the stage descriptions and implement `encode`, `fuse` and `decode`."""

    stage_channels: tuple[int, ...]  #: channels of features_a[i] / features_b[i]
    stage_strides: tuple[int, ...]  #: input size / feature size of stage i

    @property
    def size_multiple(self) -> int:
        return self.stage_strides[-1]

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def fuse(self, fa: list[torch.Tensor], fb: list[torch.Tensor]) -> list[torch.Tensor]:
        raise NotImplementedError

    def decode(self, fused: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, a: torch.Tensor, b: torch.Tensor, return_features: bool = False):
        fa, fb = self.encode(a), self.encode(b)
        fused = self.fuse(fa, fb)
        logits = self.decode(fused, a.shape[-2:])
        if return_features:
            return ChangeOutput(logits, fa, fb, fused)
        return logits
