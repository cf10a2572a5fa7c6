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

import json
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError


class BuildRunner:
    def __init__(self, build_dir: str | Path):
        from qonnx.core.modelwrapper import ModelWrapper

        from frd_q.train.checkpoint import load_model
        from hw.check import partition_model
        from hw.finn_env import finn_session

        self.build = Path(build_dir)
        summary = self.build / "summary.json"
        if not summary.is_file():
            raise ConfigError(f"{summary}: not found (is {self.build} a flows/build.py output folder?)")
        info = json.loads(summary.read_text())
        self.tile = int(info["config"]["tile"])
        self.model, self.cfg, _ = load_model(info["hw_checkpoint"])
        self.channels = self.cfg.data.in_channels
        self.size_multiple = self.model.size_multiple
        with finn_session(self.build / "finn_tmp"):
            self.graph = ModelWrapper(str(partition_model(self.build)))
        self.inputs = [i.name for i in self.graph.graph.input]
        self.output = self.graph.graph.output[0].name

    def accumulators(self, a: np.ndarray, b: np.ndarray, graph=None) -> np.ndarray:
        """Integer head accumulators (1, h, w, 1) of one window pair (uint8 (T, T, C) each)."""
        from frd_q.export.qonnx import accelerator_inputs
        from hw.execute import execute
        from hw.finn_env import finn_session

        graph = graph or self.graph
        with finn_session(self.build / "finn_tmp"):
            return execute(graph, dict(zip(self.inputs, accelerator_inputs(len(self.inputs), a, b))))[self.output]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        from frd_q.export.reference import head_logits

        acc = np.concatenate([self.accumulators(x, y) for x, y in zip(a, b)])
        return head_logits(self.model, acc, a.shape[1:3])
