"""Low-bit early-fusion student: the variant whose whole FINN accelerator has RTL backends.

The Siamese student needs stream duplication, concat, abs-diff, max-pool and upsampling, which FINN (finn-plus
1.6.1) builds only through Vitis HLS. This variant is a straight line of convolutions, so FINN maps all of it to
RTL layers (sliding-window generator, MVAU, thresholding) and an open simulator can run the whole accelerator.

Topology (widths = w0..wn):
  host    the two dates stacked along channels (A's C bands, then B's): one 2C-channel pixel stream
  input   QuantIdentity (input_bits, constant scale): [0, 1] pixels become exact integers
  stage 0 conv3x3-BN-QReLU to w0, conv3x3-BN-QReLU                                   (stride 1)
  stage i conv3x3 stride 2-BN-QReLU to wi, conv3x3-BN-QReLU                           (stride 2^i)
  head    1x1 QuantConv2d -> BatchNorm2d(1): logits at stride 2^n                     (the accelerator's output)
  host    bilinear upsampling of the logits to the input size
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from brevitas import nn as qnn
from torch import nn

from frd_q.config import ModelConfig
from frd_q.models.base import ChangeOutput
from frd_q.models.quant import input_quant, weight_quant
from frd_q.models.student import QConvBNReLU


class EarlyFusionCore(nn.Module):
    """What the accelerator computes: stacked (N, 2C, H, W) dates in [0, 1] -> low-resolution logits."""

    def __init__(self, cfg: ModelConfig, in_channels: int):
        super().__init__()
        w, wb, ab = list(cfg.widths), cfg.weight_bits, cfg.act_bits
        self.input_quant = qnn.QuantIdentity(**input_quant(cfg.input_bits))
        self.stages = nn.ModuleList()
        cin = 2 * in_channels
        for i, cout in enumerate(w):
            self.stages.append(nn.Sequential(QConvBNReLU(cin, cout, wb, ab, 2 if i else 1), QConvBNReLU(cout, cout, wb, ab)))
            cin = cout
        self.head = nn.Sequential(qnn.QuantConv2d(w[-1], 1, 1, bias=False, **weight_quant(wb)), nn.BatchNorm2d(1))

    def forward(self, x: torch.Tensor, features: list | None = None) -> torch.Tensor:
        x = self.input_quant(x)
        for stage in self.stages:
            x = stage(x)
            if features is not None:
                features.append(x)
        return self.head(x)


class EarlyFusionCD(nn.Module):
    """The ChangeDetector contract for the early-fusion student (there are no per-date features to return)."""

    fusion = None

    def __init__(self, cfg: ModelConfig, in_channels: int = 3):
        super().__init__()
        self.core = EarlyFusionCore(cfg, in_channels)
        self.stage_channels = tuple(cfg.widths)
        self.stage_strides = tuple(2**i for i in range(len(cfg.widths)))
        self.output_stride = self.stage_strides[-1]

    @property
    def size_multiple(self) -> int:
        return self.output_stride

    @property
    def head(self) -> nn.Sequential:
        return self.core.head

    def conv_blocks(self) -> list[tuple[QConvBNReLU, nn.Module]]:
        """Every conv-BN-QReLU block with the quantizer whose scale its integer input carries (for tie removal)."""
        blocks, previous = [], self.core.input_quant
        for stage in self.core.stages:
            for block in stage:
                blocks.append((block, previous))
                previous = block[2]
        return blocks

    @property
    def head_input_act(self) -> nn.Module:
        """The quantized activation that feeds the head conv (its scale turns head inputs into integers)."""
        return self.core.stages[-1][-1][2]

    def forward(self, a: torch.Tensor, b: torch.Tensor, return_features: bool = False):
        feats: list[torch.Tensor] = []
        low = self.core(torch.cat([a, b], 1), feats)
        logits = F.interpolate(low, size=a.shape[-2:], mode="bilinear", align_corners=False)
        return ChangeOutput(logits, [], [], feats) if return_features else logits
