"""Export a Brevitas student to QONNX with the interface an accelerator has.

The exported Siamese graph takes what a payload delivers: two (N, H, W, C) images of raw integer pixels 0..255 (as float
tensors, ONNX has no uint8 arithmetic here), and returns the change logits (N, 1, H, W) of the student. Inside, the
pixels are transposed to NCHW and scaled by 1/255, which is exactly what the student's constant-scale input
quantizer undoes; after FINN's streamlining the transposes cancel and the accelerator reads the HWC pixel stream
as it is. The early-fusion student's graph takes one (N, H, W, 2C) input, the dates stacked along channels, and
returns its low-resolution logits (the host upsamples them).

    frd-q export --checkpoint runs/student_w4a4/best.pt --out build/student.onnx --tile 256

Before export, rounding near-ties are removed from the BatchNorm biases (frd_q/export/ties.py), so that the
integer hardware and PyTorch agree bit for bit; the adjusted checkpoint is written beside the graph.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path


class PixelInputs(nn.Module):
    """(N, H, W, C) integer pixels of both dates -> the wrapped detector's logits (N, 1, H, W)."""

    def __init__(self, detector: nn.Module, max_pixel: float = 255.0):
        super().__init__()
        self.detector, self.max_pixel = detector, max_pixel

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        to_unit = lambda x: x.permute(0, 3, 1, 2) / self.max_pixel  # noqa: E731
        return self.detector(to_unit(a), to_unit(b))


class StackedPixelInputs(PixelInputs):
    """Early fusion: one (N, H, W, 2C) input, A's bands then B's (the host interleaves them) -> low-resolution
    logits (N, 1, H/s, W/s) of the core; the host does the final upsampling."""

    def forward(self, ab: torch.Tensor) -> torch.Tensor:
        return self.detector.core(ab.permute(0, 3, 1, 2) / self.max_pixel)


def is_early_fusion(model: nn.Module) -> bool:
    return hasattr(model, "core")


def pixel_wrapper(model: nn.Module) -> PixelInputs:
    """The wrapper that gives `model` the accelerator's interface (what gets exported)."""
    return StackedPixelInputs(model) if is_early_fusion(model) else PixelInputs(model)


def accelerator_inputs(n_inputs: int, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """The (1, H, W, C) float arrays a graph with `n_inputs` inputs takes for uint8 (H, W, C) images a, b."""
    if n_inputs == 1:
        return [np.concatenate([a, b], -1)[None].astype(np.float32)]
    return [a[None].astype(np.float32), b[None].astype(np.float32)]


def graph_feed(graph, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """{input name: array} for executing the ONNX `graph` (a qonnx ModelWrapper: exported, streamlined, hardware
    layers or code-generated; one stacked or two date inputs) on uint8 (H, W, C) images a, b."""
    names = [i.name for i in graph.graph.input]
    return dict(zip(names, accelerator_inputs(len(names), a, b)))


@torch.no_grad()
def run_torch(model: nn.Module, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """What the exported graph of `model` computes, run in PyTorch on uint8 (H, W, C) images a, b."""
    inputs = accelerator_inputs(1 if is_early_fusion(model) else 2, a, b)
    return pixel_wrapper(model.eval())(*(torch.from_numpy(x) for x in inputs)).numpy()


THRESHOLD_PROP = "frd_q_decision_threshold"  #: ONNX metadata: the checkpoint's decision threshold (change = logit > t)


def export_model(model: nn.Module, tile: int, path: str | Path, channels: int = 3, threshold: float = 0.0,
                 rows: int | None = None) -> Path:
    """Write the QONNX graph of `model` (eval mode, wrapped in PixelInputs) for `tile`x`tile` inputs to `path`
    (`rows` x `tile` when rows is given: the band FIFO sizing simulates); `threshold` is kept in the graph's
    metadata (THRESHOLD_PROP) for the runners that decide on its logits."""
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    multiple = getattr(model, "size_multiple", 1)
    rows = tile if rows is None else rows
    if tile % multiple or rows % multiple:
        raise ConfigError(f"tile size {rows}x{tile} is not a multiple of the model's {multiple}")
    model = model.eval()
    rng = np.random.default_rng(0)
    # two different example images: the tracer merges identical inputs into one
    a, b = (rng.integers(0, 256, (rows, tile, channels)) for _ in range(2))
    args = tuple(torch.from_numpy(x) for x in accelerator_inputs(1 if is_early_fusion(model) else 2, a, b))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(pixel_wrapper(model), args, export_path=str(tmp))
        graph = cleanup_model(ModelWrapper(str(tmp)))
        graph.set_metadata_prop(THRESHOLD_PROP, repr(float(threshold)))
        graph.save(str(tmp))
    return path


def export_checkpoint(checkpoint: str | Path, tile: int, path: str | Path, remove_ties: bool = True,
                      rows: int | None = None) -> dict:
    """Load a student checkpoint, remove rounding near-ties (frd_q.export.ties) and export it (see export_model).

    The tie-free weights are what the hardware computes, so they are saved beside the graph as a frd_q
    checkpoint (`<path>.pt` with the .onnx suffix replaced) for reference computations; returns
    {"onnx": path, "checkpoint": that checkpoint, "ties": the tie-removal statistics}.
    """
    from frd_q.config import Arch
    from frd_q.export.ties import remove_ties as shift_thresholds
    from frd_q.train.checkpoint import decision_threshold, load_model, save_checkpoint

    model, cfg, ckpt = load_model(checkpoint)
    if cfg.model.arch not in (Arch.STUDENT, Arch.EARLY):
        raise ConfigError(f"{checkpoint}: a float {cfg.model.arch.value} cannot be exported for FINN; export a "
                          "quantized student")
    stats = shift_thresholds(model) if remove_ties else None
    hw_checkpoint = Path(path).with_suffix(".pt")
    payload = {k: ckpt[k] for k in ("config", "model_name", "step", "metrics", "best_f1") if k in ckpt}
    save_checkpoint(hw_checkpoint, {**payload, "model": model.state_dict(), "exported_from": str(checkpoint),
                                    "tie_removal": stats})
    export_model(model, tile, path, cfg.data.in_channels, decision_threshold(ckpt), rows=rows)
    return {"onnx": Path(path), "checkpoint": hw_checkpoint, "ties": stats}


def run_qonnx(path_or_model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Execute an exported graph on uint8 (H, W, C) images a, b; returns its first output."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    graph = path_or_model if isinstance(path_or_model, ModelWrapper) else ModelWrapper(str(path_or_model))
    return execute_onnx(graph, graph_feed(graph, a, b))[graph.graph.output[0].name]
