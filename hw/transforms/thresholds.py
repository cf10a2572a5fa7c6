"""RemoveIdentityThresholds: drop a MultiThreshold that maps every integer input to itself.

The student's image quantizer (8 bits, scale 1/255) becomes, once the 1/255 input scaling is absorbed, a
MultiThreshold with thresholds k - 0.5 (k = 1..255) on the pixel value. On integer pixels 0..255 that is the
identity, and in hardware it would cost a 255-step Thresholding layer per date. The pass removes such nodes when
the input datatype is an integer type inside the output range, every channel's k-th threshold T_k satisfies
k - 1 < T_k <= k (so x >= T_k exactly when x >= k), the output has no scale or bias, and there are exactly as
many thresholds as output levels above zero.
"""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation


def _is_identity(model: ModelWrapper, node) -> bool:
    op = getCustomOp(node)
    idt = model.get_tensor_datatype(node.input[0])
    thresholds = model.get_initializer(node.input[1])
    if thresholds is None or not idt.is_integer() or idt.min() < 0:
        return False
    if op.get_nodeattr("out_scale") != 1.0 or op.get_nodeattr("out_bias") != 0.0:
        return False
    levels = thresholds.shape[1]
    if idt.max() > levels:
        return False
    k = np.arange(1, levels + 1)
    return bool(((thresholds > k - 1) & (thresholds <= k)).all())


class RemoveIdentityThresholds(Transformation):
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "MultiThreshold" or not _is_identity(model, node):
                continue
            source, target = node.input[0], node.output[0]
            for consumer in model.find_consumers(target) or []:
                for j, name in enumerate(consumer.input):
                    if name == target:
                        consumer.input[j] = source
            for out in model.graph.output:
                if out.name == target:  # the graph ends here: keep the output name, rename the source
                    model.rename_tensor(source, target)
            model.graph.node.remove(node)
            return model, True
        return model, False
