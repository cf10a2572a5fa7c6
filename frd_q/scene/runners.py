"""What turns window pairs into change logits: any callable Runner; the PyTorch model is TorchRunner (the deployed
FINN graph is hw.runner.BuildRunner, a layer above)."""

from __future__ import annotations

from typing import Callable

import numpy as np

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(a, b) uint8 (N, T, T, C) window batches -> float32 (N, T, T) change logits (> 0 = change). A runner with a
decision threshold t returns logit - t, so that > 0 stays the decision everywhere downstream."""


class TorchRunner:
    """The PyTorch model (float or Brevitas) as a Runner; `threshold`: the checkpoint's decision threshold."""

    def __init__(self, model, device="cpu", threshold: float = 0.0):
        self.model, self.device, self.threshold = model, device, float(threshold)
        self.size_multiple = model.size_multiple

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import torch

        to_input = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float().div(255.0).to(self.device)  # noqa: E731
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self.model(to_input(a), to_input(b))
        self.model.train(was_training)
        return out[:, 0].float().cpu().numpy() - np.float32(self.threshold)

