"""DuplicateForkedWeightQuant: one weight Quant node per consumer.

The Siamese student applies one set of encoder weights to both dates, so Brevitas exports one weight `Quant` whose
output feeds two `Conv` nodes. FINN's ConvertQONNXtoFINN refuses that ("Weights quantized with the Quant node are
not allowed to be fork nodes"). This pass gives every extra consumer its own copy of the Quant node (same constant
inputs, so the same quantized weights); the hardware then holds the encoder twice, which is what a dataflow
accelerator with two image streams needs anyway.
"""

from __future__ import annotations

import copy

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

QUANT_OPS = ("Quant", "BipolarQuant", "BinaryQuant")


class DuplicateForkedWeightQuant(Transformation):
    """Copy a Quant node whose data input is a constant (a weight) once per extra consumer."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        graph = model.graph
        for index, node in enumerate(graph.node):
            if node.op_type not in QUANT_OPS or model.get_initializer(node.input[0]) is None:
                continue
            consumers = model.find_consumers(node.output[0]) or []
            if len(consumers) < 2:
                continue
            for k, consumer in enumerate(consumers[1:], 1):
                twin = copy.deepcopy(node)
                twin.name = f"{node.name}_copy{k}"
                twin.output[0] = model.make_new_valueinfo_name()
                model.set_tensor_shape(twin.output[0], model.get_tensor_shape(node.output[0]))
                graph.node.insert(index + k, twin)
                for j, name in enumerate(consumer.input):
                    if name == node.output[0]:
                        consumer.input[j] = twin.output[0]
            return model, True
        return model, False
