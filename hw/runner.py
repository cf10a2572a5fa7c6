"""The deployed integer model of a FINN build as a frd_q.scene Runner: whole scenes through the accelerator graph.

    from hw.runner import BuildRunner
    runner = BuildRunner("build/ZCU104")          # tile size fixed by the build
    logits = runner(a_windows, b_windows)          # uint8 (N, T, T, C) -> float32 (N, T, T)

Each window pair goes through the dataflow partition (the graph the accelerator implements, executed in Python
by hw.execute: integer in, integer head accumulators out), then the host's float tail (head scale, BatchNorm and,
for the early-fusion student, bilinear upsampling) from the build's tie-free checkpoint. `frd-q predict --model
build/DIR` uses it; the decisions are the accelerator's, not the PyTorch model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.export.qonnx import THRESHOLD_PROP, graph_feed
from frd_q.export.reference import head_logits
from frd_q.train.checkpoint import decision_threshold, load_model
from hw.buildfolder import BuildFolder
from hw.execute import execute
from hw.finn_env import finn_session


class BuildRunner:
    def __init__(self, build_dir: str | Path):
        from qonnx.core.modelwrapper import ModelWrapper

        self.folder = BuildFolder(build_dir)
        self.build = self.folder.path
        summary = self.folder.summary
        if summary.hw_checkpoint is None:
            raise ConfigError(f"{self.folder.summary_path}: no hw_checkpoint (the build stopped before its export)")
        self.tile = summary.tile
        self.model, self.cfg, ckpt = load_model(summary.hw_checkpoint)
        self.threshold = decision_threshold(ckpt)  #: the student's decision threshold, chosen on the val split
        self.channels = self.cfg.data.in_channels
        self.size_multiple = self.model.size_multiple
        with finn_session(self.folder.finn_tmp):
            self.graph = ModelWrapper(str(self.folder.partition_model()))
        self.output = self.graph.graph.output[0].name

    def execute(self, a: np.ndarray, b: np.ndarray, keep_all: bool = False) -> dict[str, np.ndarray]:
        """The partition graph on one window pair (uint8 (T, T, C) each): its outputs, or every tensor."""
        with finn_session(self.folder.finn_tmp):
            return execute(self.graph, graph_feed(self.graph, a, b), keep_all)

    def accumulators(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Integer head accumulators (1, h, w, 1) of one window pair."""
        return self.execute(a, b)[self.output]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        acc = np.concatenate([self.accumulators(x, y) for x, y in zip(a, b)])
        return head_logits(self.model, acc, a.shape[1:3]) - np.float32(self.threshold)


class QonnxRunner:
    """An exported QONNX graph (`frd-q export`) as a Runner: the graph before FINN, for comparing against it.

    Siamese graphs return full-resolution logits; the early-fusion graph returns low-resolution logits, which are
    upsampled bilinearly as the PyTorch model does. The tile size is the graph's input size."""

    def __init__(self, path: str | Path):
        from qonnx.core.modelwrapper import ModelWrapper

        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: QONNX graph not found")
        try:
            self.graph = ModelWrapper(str(self.path))
        except Exception as e:  # onnx raises DecodeError and others for a file that is not a model
            raise ConfigError(f"{self.path}: cannot read ONNX model ({type(e).__name__})") from None
        if not self.graph.graph.input or not self.graph.graph.output:
            raise ConfigError(f"{self.path}: not an exported frd_q graph (no inputs or outputs)")
        shape = self.graph.get_tensor_shape(self.graph.graph.input[0].name)
        stacked = len(self.graph.graph.input) == 1  # early fusion: both dates stacked along channels
        self.tile, self.channels = int(shape[1]), int(shape[-1]) // (2 if stacked else 1)
        self.size_multiple = 1
        prop = self.graph.get_metadata_prop(THRESHOLD_PROP)  # written by frd-q export; older graphs: 0
        self.threshold = float(prop) if prop else 0.0  #: the exported checkpoint's decision threshold

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        from frd_q.export.qonnx import run_qonnx

        out = np.concatenate([run_qonnx(self.graph, x, y) for x, y in zip(a, b)])  # (N, 1, h, w)
        if out.shape[-2:] != a.shape[1:3]:
            out = F.interpolate(torch.from_numpy(out), size=a.shape[1:3], mode="bilinear", align_corners=False).numpy()
        return out[:, 0] - np.float32(self.threshold)
