"""Reorder passes for the bitemporal fusion and the decoder's upsampling, which FINN's streamlining lacks.

After streamlining, each date's features reach the fusion as `Mul(scale) -> Transpose(NHWC->NCHW)` on top of a
MultiThreshold, and the fusion is `Abs(Sub(A, B))`. FINN can turn `Sub -> Abs` on integers into one AbsDiff layer
only once the scales and transposes have moved below it, and the scale must reach the next MultiThreshold to be
absorbed there. These passes do that:

  MoveLinearPastSub   Sub(f(a), f(b)) -> f(Sub(a, b))   f = Mul by the same constant, or Transpose with the same perm
  MoveLinearPastAbs   Abs(Transpose(x)) -> Transpose(Abs(x));  Abs(Mul(x, c)) -> Mul(Abs(x), |c|)
  MoveMulPastSpatialOp Resize(Mul(x, c)) -> Mul(Resize(x), c) for nearest resizing, and the same for max pooling
                      when c > 0; c must be uniform over the spatial axes (a scalar or per-channel scale)

Each needs the moved node(s) to feed only the node they move past: run FINN's MoveOpPastFork first.
"""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.transformation.general import SortGraph
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import get_by_name


def _sole_producer(model: ModelWrapper, tensor: str, op_types: tuple[str, ...]):
    """The node producing `tensor` if it is one of op_types and `tensor` has no other consumer."""
    node = model.find_producer(tensor)
    if node is None or node.op_type not in op_types:
        return None
    if len(model.find_consumers(tensor) or []) != 1:
        return None
    return node


def _same_linear(model: ModelWrapper, p: object, q: object) -> bool:
    """True if p and q apply the same Mul constant or the same Transpose permutation."""
    if p.op_type != q.op_type:
        return False
    if p.op_type == "Transpose":
        return list(get_by_name(p.attribute, "perm").ints) == list(get_by_name(q.attribute, "perm").ints)
    cp, cq = model.get_initializer(p.input[1]), model.get_initializer(q.input[1])
    return cp is not None and cq is not None and cp.shape == cq.shape and np.array_equal(cp, cq)


def _refresh(model: ModelWrapper, stale: list[str]) -> ModelWrapper:
    """Drop the shape annotations of rewired tensors and infer them again."""
    for name in stale:
        vi = model.get_tensor_valueinfo(name)
        if vi is not None and vi in model.graph.value_info:
            model.graph.value_info.remove(vi)
    model = model.transform(SortGraph(), make_deepcopy=False, cleanup=False)
    model = model.transform(InferShapes(), make_deepcopy=False, cleanup=False)
    return model.transform(InferDataTypes(), make_deepcopy=False, cleanup=False)


def _swap_below(model: ModelWrapper, upper, lower) -> list[str]:
    """x -> upper -> t -> lower -> y  becomes  x -> lower -> t' -> upper -> y (lower unary); returns stale tensors."""
    x, t, y = upper.input[0], upper.output[0], lower.output[0]
    t_new = model.make_new_valueinfo_name()
    lower.input[0], lower.output[0] = x, t_new
    upper.input[0], upper.output[0] = t_new, y
    return [t, y]


class MoveLinearPastSub(Transformation):
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "Sub":
                continue
            pa = _sole_producer(model, node.input[0], ("Mul", "Transpose"))
            pb = _sole_producer(model, node.input[1], ("Mul", "Transpose"))
            if pa is None or pb is None or pa is pb or not _same_linear(model, pa, pb):
                continue
            out, diff = node.output[0], model.make_new_valueinfo_name()
            stale = [node.input[0], node.input[1], out]
            node.input[0], node.input[1], node.output[0] = pa.input[0], pb.input[0], diff
            pa.input[0], pa.output[0] = diff, out
            model.graph.node.remove(pb)
            return _refresh(model, stale), True
        return model, False


class MoveLinearPastAbs(Transformation):
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "Abs":
                continue
            upper = _sole_producer(model, node.input[0], ("Mul", "Transpose"))
            if upper is None or (upper.op_type == "Mul" and model.get_initializer(upper.input[1]) is None):
                continue
            if upper.op_type == "Mul":
                const = model.get_initializer(upper.input[1])
                model.set_initializer(upper.input[1], np.abs(const).astype(const.dtype))
            return _refresh(model, _swap_below(model, upper, node)), True
        return model, False


class MoveMulPastSpatialOp(Transformation):
    """Mul by a constant that is uniform over the spatial axes commutes with nearest-neighbour Resize, and, when it
    is positive, with max pooling (MaxPool in NCHW, MaxPoolNHWC after FINN's layout change)."""

    POOLED_AXES = {"MaxPool": (2, 3), "MaxPoolNHWC": (1, 2)}

    @classmethod
    def _axes(cls, model: ModelWrapper, node) -> tuple[int, ...] | None:
        if node.op_type in cls.POOLED_AXES:
            return cls.POOLED_AXES[node.op_type]
        scales = model.get_initializer(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        return None if scales is None else tuple(int(i) for i in np.flatnonzero(scales != 1))

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type not in ("Resize", *self.POOLED_AXES):
                continue
            if node.op_type == "Resize" and get_by_name(node.attribute, "mode").s.decode() != "nearest":
                continue
            mul = _sole_producer(model, node.input[0], ("Mul",))
            const = None if mul is None else model.get_initializer(mul.input[1])
            if const is None or (node.op_type != "Resize" and not (const > 0).all()):
                continue
            rank, axes = len(model.get_tensor_shape(node.input[0])), self._axes(model, node)
            shape = (1,) * (rank - const.ndim) + const.shape
            if axes is None or any(shape[axis] != 1 for axis in axes):
                continue  # the constant varies along an axis this op resizes or pools
            return _refresh(model, _swap_below(model, mul, node)), True
        return model, False


__all__ = ["MoveLinearPastAbs", "MoveLinearPastSub", "MoveMulPastSpatialOp"]
