"""MarkInputLayouts: give every graph input the data layout it really has.

qonnx's InferDataLayouts annotates only the first graph input, and guesses NCHW for it; the Siamese student has
two (date 1 and date 2), and a second input without a layout later breaks FINN's layout-dependent passes
("cycle-free graph violated" in the partitioning), while a wrong guess for the first makes FINN reject the first
Thresholding layer. This pass sets every 4-D input to the given layout (NHWC for frd_q's pixel-stream exports,
NCHW for a plain PyTorch export) and every 2-D one to NC.
"""

from __future__ import annotations

import qonnx.core.data_layout as layout
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation


class MarkInputLayouts(Transformation):
    def __init__(self, image_layout: list[str] = layout.NHWC):
        super().__init__()
        self.by_rank = {4: image_layout, 2: layout.NC}

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for inp in model.graph.input:
            rank = len(model.get_tensor_shape(inp.name))
            if rank in self.by_rank and model.get_tensor_layout(inp.name) != self.by_rank[rank]:
                model.set_tensor_layout(inp.name, self.by_rank[rank])
                changed = True
        return model, changed
