"""Float teacher: a ResNet-style Siamese change detector.

Topology: a stem (two 3x3 convs, the first with stride 2), then one stage per entry of `widths`, each a stack of
`blocks[i]` residual BasicBlocks (the first of stages 1.. has stride 2), so stage i sits at stride 2^(i+1). The
encoder is shared by both dates. Each stage's two feature maps are fused (|A - B| or concat, then a 1x1 conv to
`DECODER_CHANNELS`), summed top-down with bilinear upsampling (an FPN), refined by a 3x3 conv, and a 1x1 head gives
the logits at stride 2, bilinearly upsampled to the input size. With `model.decoder_blocks` = n > 0, every merge
(and the deepest stage's lateral) passes through n 3x3 conv-BN-ReLU blocks before it is upsampled, a U-Net-like
decoder that can reason on the difference at each scale; 0 keeps the merges linear. `model.context` lists the
dilations of residual blocks (two dilated 3x3 convs) applied to the deepest level before the top-down pass, which
widen what each output pixel sees (aimed at the large new roofs the shipped teacher misses, docs/training.md). Each
block's last BatchNorm starts at zero weight, so a block starts as the identity and a trained teacher without them
can be fine-tuned with them (`train.init_from`).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from frd_q.config import Fusion, ModelConfig
from frd_q.models.base import ChangeDetector

DECODER_CHANNELS = 64  #: channels of the teacher's FPN decoder


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 strided projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = nn.Identity()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.conv2(self.conv1(x)) + self.short(x))


class ContextBlock(nn.Module):
    """x + BN(conv_d(ReLU(BN(conv_d(x))))) with dilation d; the identity at initialization, for any x."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, dilation, dilation, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, dilation, dilation, bias=False), nn.BatchNorm2d(channels),
        )
        nn.init.zeros_(self.body[-1].weight)

    def forward(self, x):
        return x + self.body(x)


class TeacherCD(ChangeDetector):
    def __init__(self, cfg: ModelConfig, in_channels: int = 3):
        super().__init__()
        w = list(cfg.widths)
        self.fusion = cfg.fusion
        self.stage_channels = tuple(w)
        self.stage_strides = tuple(2 ** (i + 1) for i in range(len(w)))
        self.stem = nn.Sequential(conv_bn_relu(in_channels, w[0], 2), conv_bn_relu(w[0], w[0]))
        self.stages = nn.ModuleList()
        cin = w[0]
        for i, (cout, n) in enumerate(zip(w, cfg.blocks)):
            blocks = [BasicBlock(cin, cout, 1 if i == 0 else 2)]
            blocks += [BasicBlock(cout, cout, 1) for _ in range(n - 1)]
            self.stages.append(nn.Sequential(*blocks))
            cin = cout
        k = 2 if cfg.fusion == Fusion.CONCAT else 1
        self.fuse_quant = nn.ModuleList(nn.Identity() for _ in w)  # float teacher: |A - B| as it is
        self.lateral = nn.ModuleList(nn.Conv2d(k * c, DECODER_CHANNELS, 1) for c in w)
        self.merge = nn.ModuleList(
            nn.Sequential(*(conv_bn_relu(DECODER_CHANNELS, DECODER_CHANNELS) for _ in range(cfg.decoder_blocks)))
            for _ in w[1:]
        )  # per level but the first, deepest first; empty (identity) when decoder_blocks = 0
        self.context = nn.Sequential(*(ContextBlock(DECODER_CHANNELS, d) for d in cfg.context))
        self.refine = conv_bn_relu(DECODER_CHANNELS, DECODER_CHANNELS)
        self.head = nn.Conv2d(DECODER_CHANNELS, 1, 1)

    def entry(self, x):
        return self.stem(x)

    def decode(self, fused, size):
        x = self.context(self.merge[0](self.lateral[-1](fused[-1])))
        for i in range(len(fused) - 2, -1, -1):
            lat = self.lateral[i](fused[i])
            x = F.interpolate(x, size=lat.shape[-2:], mode="bilinear", align_corners=False) + lat
            if i > 0:
                x = self.merge[len(fused) - 1 - i](x)
        x = self.head(self.refine(x))
        return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
