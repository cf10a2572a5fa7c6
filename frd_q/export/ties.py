"""Remove rounding near-ties from a quantized student before it becomes hardware.

A conv-BN-QReLU block turns the integer accumulator `acc` of channel c into activation level k when
BN(acc * s_x * s_w[c]) / s_act rounds to k. The level steps up where the accumulator crosses

    T[k, c] = ((k - 1/2) * s_act - b[c]) / (a[c] * s_x * s_w[c]),      BN(z) = a[c] * z + b[c],  k = 1 .. 2^bits - 1

FINN stores these thresholds and compares the integer accumulator exactly (`acc >= ceil(T)`); PyTorch computes the
same decision in float32 (a convolution summing hundreds of products, then BatchNorm, then round-half-even), with
an error of about 1e-3 to 1e-2 accumulator units. Where T lies that close to an integer the accumulator can take,
the two disagree on some pixels (measured on the foundation student: 23 of 3.3 M output integers on real tiles).

`remove_ties(model)` shifts, per channel, all of a block's thresholds by one amount delta (|delta| < 1/2
accumulator unit) so that every threshold keeps at least `margin` from the nearest integer, choosing the
smallest such shift; it applies the shift through the BatchNorm bias (b -> b - delta * a * s_x * s_w). Accumulators
are integers, so outputs change only for an accumulator value a threshold crossed (a threshold within delta of
it); `frd-q export`/the FINN flow report how many channels moved and the evaluation tests that F1 is unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

MARGIN = 0.05  #: minimum distance (accumulator units) from a threshold to the nearest integer after the shift
GRID = 2001  #: candidate shifts in (-1/2, 1/2)


@torch.no_grad()
def block_thresholds(block, input_quant) -> tuple[np.ndarray, np.ndarray]:
    """(T (levels, channels) in accumulator units, BN output change per accumulator unit (channels,)) of one
    conv-BN-QReLU block."""
    conv, bn, act = block[0], block[1], block[2]
    s_x = float(input_quant.act_quant.scale())
    s_w = conv.quant_weight().scale.detach().double().flatten().numpy()
    s_act = float(act.act_quant.scale())
    levels = 2 ** int(act.act_quant.bit_width()) - 1
    a = (bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)).numpy()
    b = bn.bias.double().numpy() - a * bn.running_mean.double().numpy()
    k = np.arange(1, levels + 1, dtype=np.float64)[:, None]
    unit = a * s_x * s_w  # BN output change per accumulator unit
    return ((k - 0.5) * s_act - b) / unit, unit


def _distance_to_integers(t: np.ndarray) -> np.ndarray:
    return np.abs(t - np.round(t))


def smallest_shift(t: np.ndarray, margin: float = MARGIN) -> float:
    """The shift of smallest magnitude that keeps every threshold in t at least `margin` from an integer (or the
    one that maximizes the smallest distance, if no shift reaches `margin`)."""
    t = t[np.isfinite(t)]
    if t.size == 0 or _distance_to_integers(t).min() >= margin:
        return 0.0
    candidates = np.linspace(-0.5, 0.5, GRID)[1:-1]
    closest = _distance_to_integers(t[None, :] + candidates[:, None]).min(axis=1)
    ok = closest >= margin
    if ok.any():
        return float(candidates[ok][np.argmin(np.abs(candidates[ok]))])
    return float(candidates[np.argmax(closest)])


@torch.no_grad()
def remove_ties(model, margin: float = MARGIN) -> dict:
    """Shift the BatchNorm biases of `model.conv_blocks()` so no threshold is within `margin` of an integer."""
    stats = {"blocks": 0, "channels": 0, "channels_shifted": 0, "max_shift": 0.0, "closest_before": 1.0,
             "closest_after": 1.0}
    for block, input_quant in model.conv_blocks():
        t, unit = block_thresholds(block, input_quant)
        stats["blocks"] += 1
        stats["channels"] += t.shape[1]
        stats["closest_before"] = min(stats["closest_before"], float(_distance_to_integers(t).min()))
        shifts = np.array([smallest_shift(t[:, c], margin) for c in range(t.shape[1])])
        bn = block[1]
        bn.bias -= torch.from_numpy(shifts * unit).to(bn.bias.dtype)  # T + shift  <=>  b - shift * unit
        t_after, _ = block_thresholds(block, input_quant)
        stats["closest_after"] = min(stats["closest_after"], float(_distance_to_integers(t_after).min()))
        stats["channels_shifted"] += int((shifts != 0).sum())
        stats["max_shift"] = max(stats["max_shift"], float(np.abs(shifts).max()))
    return stats
