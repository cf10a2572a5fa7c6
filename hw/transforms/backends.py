"""Backend choice for the stream operators frd_q implements in RTL (hw.rtl_ops)."""

from __future__ import annotations

from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from hw.rtl_ops import OPS, unsupported

BASE_OPS = {cls.__name__[: -len("_rtl")] for cls in OPS}


class KeepUnsupportedHLS(Transformation):
    """Mark `preferred_impl_style = hls` on Pool / AbsDiff / Upsample / Concat / DuplicateStreams nodes that the
    frd_q RTL cores cannot implement (average pooling, constant or broadcast operands, non-integer upsampling),
    so that SpecializeLayers builds those with FINN's HLS and every other one with frd_q's RTL."""

    def apply(self, model):
        for node in model.graph.node:
            if node.op_type not in BASE_OPS:
                continue
            inst = getCustomOp(node)
            if inst.get_nodeattr("preferred_impl_style") == "" and unsupported(node, inst) is not None:
                inst.set_nodeattr("preferred_impl_style", "hls")
                return model, True
        return model, False
