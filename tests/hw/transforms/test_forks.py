import numpy as np
from graphs import graph, ops, run, rng  # noqa: F401 (fixture)
from onnx import helper

from hw.transforms import DuplicateForkedWeightQuant


def test_forked_weight_quant_gets_one_copy_per_consumer(rng):
    quant = helper.make_node("Quant", ["w", "s", "z", "bits"], ["wq"], domain="qonnx.custom_op.general",
                             narrow=1, signed=1, rounding_mode="ROUND")
    nodes = [quant, helper.make_node("Conv", ["a", "wq"], ["ya"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["b", "wq"], ["yb"], pads=[1, 1, 1, 1]),
             helper.make_node("Sub", ["ya", "yb"], ["y"])]
    model = graph(nodes, {"a": [1, 2, 5, 5], "b": [1, 2, 5, 5]}, {"y": [1, 3, 5, 5]},
                  {"w": rng.normal(size=(3, 2, 3, 3)), "s": 0.1, "z": 0.0, "bits": 4.0})
    feed = {"a": rng.normal(size=(1, 2, 5, 5)).astype(np.float32), "b": rng.normal(size=(1, 2, 5, 5)).astype(np.float32)}
    before = run(model, feed)
    after_model = model.transform(DuplicateForkedWeightQuant())
    assert ops(after_model).count("Quant") == 2
    for q in after_model.get_nodes_by_op_type("Quant"):
        assert len(after_model.find_consumers(q.output[0])) == 1
    assert np.array_equal(run(after_model, feed), before)


def test_activation_quant_forks_are_left_alone(rng):
    quant = helper.make_node("Quant", ["x", "s", "z", "bits"], ["xq"], domain="qonnx.custom_op.general",
                             narrow=0, signed=0, rounding_mode="ROUND")
    nodes = [quant, helper.make_node("Relu", ["xq"], ["r"]), helper.make_node("Add", ["xq", "r"], ["y"])]
    model = graph(nodes, {"x": [1, 4]}, {"y": [1, 4]}, {"s": 0.5, "z": 0.0, "bits": 4.0})
    assert ops(model.transform(DuplicateForkedWeightQuant())).count("Quant") == 1
