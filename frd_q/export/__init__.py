"""Checkpoint -> QONNX, and the integer reference values the hardware must reproduce."""

from frd_q.export.qonnx import PixelInputs, export_checkpoint, export_model, run_qonnx
from frd_q.export.reference import head_accumulators

__all__ = ["PixelInputs", "export_checkpoint", "export_model", "head_accumulators", "run_qonnx"]
