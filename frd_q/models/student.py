"""Low-bit Brevitas student: a Siamese U-Net built only from operators FINN can compile.

Allowed operators (and nothing else): QuantConv2d 3x3/1x1 without bias, BatchNorm2d, QuantReLU, QuantIdentity,
MaxPool2d 2x2 or a stride-2 conv, |A - B| or channel concat for the bitemporal fusion, nearest-neighbour
upsampling by 2, channel concat for the skips, and a 1x1 QuantConv2d + BatchNorm head with one output channel.

Topology (widths = w0..wn, stage i at stride 2^i):
  input   QuantIdentity (input_bits, constant scale): [0, 1] pixels become exact integers
  encoder stage i = [downsample] conv3x3-BN-QReLU, conv3x3-BN-QReLU      (shared by both dates)
  fusion  absdiff: QuantIdentity(|A_i - B_i|)  (A and B share the quantizer, so the difference is exact)
          concat:  [A_i, B_i]                  (same quantizer on both, so one scale)
  decoder from the deepest fused map: up x2 (nearest), concat with fused_{i} through one shared QuantIdentity
          (so both concat inputs carry one scale), conv3x3-BN-QReLU to w_i
  head    1x1 QuantConv2d -> BatchNorm2d(1) -> logits at full resolution
"""

from __future__ import annotations

import torch
from brevitas import nn as qnn
from torch import nn

from frd_q.config import Downsample, Fusion, ModelConfig
from frd_q.models.base import ChangeDetector
from frd_q.models.quant import act_quant, input_quant, weight_quant


class QConvBNReLU(nn.Sequential):
    """3x3 quantized conv (no bias) -> BatchNorm -> unsigned quantized ReLU."""

    def __init__(self, cin: int, cout: int, wbits: int, abits: int, stride: int = 1):
        super().__init__(
            qnn.QuantConv2d(cin, cout, 3, stride=stride, padding=1, bias=False, **weight_quant(wbits)),
            nn.BatchNorm2d(cout),
            qnn.QuantReLU(**act_quant(abits)),
        )


class StudentCD(ChangeDetector):
    def __init__(self, cfg: ModelConfig, in_channels: int = 3):
        super().__init__()
        w, wb, ab = list(cfg.widths), cfg.weight_bits, cfg.act_bits
        self.fusion, self.downsample = cfg.fusion, cfg.downsample
        self.stage_channels = tuple(w)
        self.stage_strides = tuple(2**i for i in range(len(w)))
        self.input_quant = qnn.QuantIdentity(**input_quant(cfg.input_bits))
        self.stages = nn.ModuleList()
        cin = in_channels
        for i, cout in enumerate(w):
            layers = []
            stride = 1
            if i > 0 and cfg.downsample == Downsample.MAXPOOL:
                layers.append(nn.MaxPool2d(2))
            elif i > 0:
                stride = 2
            layers += [QConvBNReLU(cin, cout, wb, ab, stride), QConvBNReLU(cout, cout, wb, ab)]
            self.stages.append(nn.Sequential(*layers))
            cin = cout
        k = 2 if cfg.fusion == Fusion.CONCAT else 1
        self.fuse_quant = nn.ModuleList(
            qnn.QuantIdentity(**act_quant(ab)) if cfg.fusion == Fusion.ABSDIFF else nn.Identity() for _ in w
        )
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.skip_quant = nn.ModuleList(qnn.QuantIdentity(**act_quant(ab)) for _ in w[:-1])
        self.dec = nn.ModuleList()
        below = k * w[-1]
        for i in range(len(w) - 2, -1, -1):
            self.dec.append(QConvBNReLU(below + k * w[i], w[i], wb, ab))
            below = w[i]
        self.head = nn.Sequential(
            qnn.QuantConv2d(w[0], 1, 1, bias=False, **weight_quant(wb)), nn.BatchNorm2d(1)
        )

    def conv_blocks(self) -> list[tuple[QConvBNReLU, nn.Module]]:
        """Every conv-BN-QReLU block with the quantizer whose scale its integer input carries (for tie removal)."""
        blocks, previous = [], self.input_quant
        for stage in self.stages:
            for block in (m for m in stage if isinstance(m, QConvBNReLU)):
                blocks.append((block, previous))  # max pooling keeps the scale of what it pools
                previous = block[2]
        blocks += [(block, self.skip_quant[i]) for block, i in zip(self.dec, range(len(self.dec) - 1, -1, -1))]
        return blocks

    @property
    def head_input_act(self) -> nn.Module:
        """The quantized activation that feeds the head conv (its scale turns head inputs into integers)."""
        return self.dec[-1][2]

    def entry(self, x):
        return self.input_quant(x)

    def decode(self, fused, size):
        x = fused[-1]
        for j, i in enumerate(range(len(fused) - 2, -1, -1)):
            q = self.skip_quant[i]
            x = self.dec[j](torch.cat([q(self.up(x)), q(fused[i])], 1))
        return self.head(x)
