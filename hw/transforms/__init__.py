"""Graph passes frd_q adds to the qonnx/FINN set.

Every pass is a qonnx `Transformation`: `apply(model) -> (model, changed)`. `ModelWrapper.transform()` copies the
model and repeats `apply` until it reports no change, so each pass rewrites one match per call and returns True.
Each pass keeps the graph's function: its test executes the model before and after and compares the outputs.
"""

from hw.transforms.backends import KeepUnsupportedHLS
from hw.transforms.forks import DuplicateForkedWeightQuant
from hw.transforms.layouts import MarkInputLayouts
from hw.transforms.reorder import MoveLinearPastAbs, MoveLinearPastSub, MoveMulPastSpatialOp
from hw.transforms.thresholds import RemoveIdentityThresholds

__all__ = [
    "DuplicateForkedWeightQuant",
    "KeepUnsupportedHLS",
    "MarkInputLayouts",
    "MoveLinearPastAbs",
    "MoveLinearPastSub",
    "MoveMulPastSpatialOp",
    "RemoveIdentityThresholds",
]
