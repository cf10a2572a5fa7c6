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

from frd_q.config import Fusion


@dataclass
class ChangeOutput:
    logits: torch.Tensor  #: (N, 1, H, W) change logits
    features_a: list[torch.Tensor] = field(default_factory=list)  #: per-stage date-1 features
    features_b: list[torch.Tensor] = field(default_factory=list)  #: per-stage date-2 features
    fused: list[torch.Tensor] = field(default_factory=list)  #: per-stage fused features


class ChangeDetector(nn.Module):
    """Base class: subclasses set the stage descriptions, `stages`, `fuse_quant` (one module per stage applied to
    |A - B|) and `fusion`, and implement `entry` and `decode`."""

    stage_channels: tuple[int, ...]  #: channels of features_a[i] / features_b[i]
    stage_strides: tuple[int, ...]  #: input size / feature size of stage i
    stages: nn.ModuleList  #: encoder stages, shared by both dates
    fuse_quant: nn.ModuleList  #: per stage, applied to |A - B| (a quantizer in the student, identity otherwise)
    fusion: Fusion  #: absdiff or concat

    @property
    def size_multiple(self) -> int:
        return self.stage_strides[-1]

    def entry(self, x: torch.Tensor) -> torch.Tensor:
        """What the image passes through before the first stage."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per-stage features of one date."""
        x = self.entry(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def fuse(self, fa: list[torch.Tensor], fb: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per-stage bitemporal fusion: [A, B] along channels, or |A - B| through `fuse_quant`."""
        if self.fusion == Fusion.CONCAT:
            return [torch.cat([a, b], 1) for a, b in zip(fa, fb)]
        return [q(torch.abs(a - b)) for q, a, b in zip(self.fuse_quant, fa, fb)]

    def decode(self, fused: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, a: torch.Tensor, b: torch.Tensor, return_features: bool = False):
        fa, fb = self.encode(a), self.encode(b)
        fused = self.fuse(fa, fb)
        logits = self.decode(fused, a.shape[-2:])
        if return_features:
            return ChangeOutput(logits, fa, fb, fused)
        return logits
