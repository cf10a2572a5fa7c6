"""Brevitas quantizers, declared once and named by role, bits and granularity.

Every quantized layer of the student takes its quantizer from here, so a bit width means the same thing
everywhere and the FINN export sees one consistent set of Quant nodes:

  weights      per-output-channel float scale from max |w| (narrow signed range, e.g. 4 bit -> [-7, 7]);
               1 bit is bipolar {-s, +s} with a constant scale (a BatchNorm follows every such conv).
  activations  unsigned per-tensor scale, a learned parameter initialised from `max_val` (no runtime-stat
               counters, so a checkpoint holds the complete quantizer state and a resumed run is exact).
  image input  unsigned, constant scale 1/(2^b - 1): an 8-bit pixel p/255 is exactly the integer p.
"""

from __future__ import annotations

from brevitas.core.scaling import ScalingImplType
from brevitas.quant.binary import SignedBinaryWeightPerTensorConst
from brevitas.quant.scaled_int import Int8WeightPerChannelFloat, Uint8ActPerTensorFloatMaxInit

ACT_INIT_MAX = 4.0  #: initial clipping value of activation quantizers (BatchNorm outputs are ~unit scale)


class UintActLearnedMax(Uint8ActPerTensorFloatMaxInit):
    """Unsigned activations, per-tensor learned scale initialised from max_val."""

    max_val = ACT_INIT_MAX


class UintInputConst(Uint8ActPerTensorFloatMaxInit):
    """Unsigned image input in [0, 1] with the constant scale 1 / (2^bits - 1)."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_const = 1.0
    max_val = 1.0


class IntWeightPerChannel(Int8WeightPerChannelFloat):
    """Narrow signed weights, per-output-channel scale from the weight statistics."""


class BinaryWeight(SignedBinaryWeightPerTensorConst):
    """Bipolar {-s, +s} weights for 1-bit students."""


def weight_quant(bits: int) -> dict:
    """Keyword arguments that give a Brevitas QuantConv2d `bits`-bit weights."""
    if bits == 1:
        return {"weight_quant": BinaryWeight}
    return {"weight_quant": IntWeightPerChannel, "weight_bit_width": bits}


def act_quant(bits: int) -> dict:
    """Keyword arguments that give a Brevitas QuantReLU/QuantIdentity `bits`-bit unsigned outputs."""
    return {"act_quant": UintActLearnedMax, "bit_width": bits}


def input_quant(bits: int) -> dict:
    """Keyword arguments for the QuantIdentity that quantizes the [0, 1] image input to `bits` bits."""
    return {"act_quant": UintInputConst, "bit_width": bits}
