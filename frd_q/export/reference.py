"""The integers an accelerator must reproduce, computed from the PyTorch student itself.

The dataflow accelerator ends with the head's 1x1 convolution, without activation: it streams out the integer
accumulators (N, H, W, 1). The scale and BatchNorm of the head are a floating-point tail on the host. The same
integers come out of the Brevitas model: the head's input is an unsigned quantized activation (value / scale is an
exact integer) and its weights are integers times per-channel scales, so an exact integer convolution of the two
integer views gives the reference, without float rounding.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


@torch.no_grad()
def head_accumulators(model: torch.nn.Module, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer head accumulators, NHWC (1, h, w, 1) int64, of `model` on uint8 (H, W, C) images a, b."""
    captured = {}
    conv = model.head[0]
    hook = conv.register_forward_hook(lambda mod, inp, out: captured.update(x=inp[0]))
    to_input = lambda x: torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].float() / 255.0  # noqa: E731
    try:
        model.eval()(to_input(a), to_input(b))
    finally:
        hook.remove()
    scale = model.head_input_act.act_quant.scale()
    x = captured["x"] / scale
    x_int = torch.round(x)
    if (x - x_int).abs().max() > 1e-3:  # float32 division of exact multiples: far below this
        raise AssertionError("head input is not an integer multiple of its quantizer's scale")
    w_int = conv.quant_weight().int().double()
    acc = F.conv2d(x_int.double(), w_int)
    return acc.round().long().permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def head_logits(model: torch.nn.Module, acc: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The host's float tail: change logits (N, H, W) at `size` from accelerator head accumulators (N, h, w, 1).

    logit = BatchNorm(acc * weight scale * input scale), then (early fusion, where h < H) bilinear upsampling, as
    the model's own forward does it; equal to the model's logits up to float32 rounding."""
    conv, bn = model.head[0], model.head[1]
    scale = (conv.quant_weight().scale.reshape(-1)[0] * model.head_input_act.act_quant.scale()).double()
    x = torch.from_numpy(np.asarray(acc, np.float64)).permute(0, 3, 1, 2) * scale
    inv = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)  # eval-mode BatchNorm, in float64
    x = ((x - bn.running_mean.double().view(1, -1, 1, 1)) * inv.view(1, -1, 1, 1) + bn.bias.double().view(1, -1, 1, 1)).float()
    if tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
    return x[:, 0].numpy()
