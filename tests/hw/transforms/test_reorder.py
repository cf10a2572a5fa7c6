import numpy as np
import pytest
from graphs import graph, ops, run, rng  # noqa: F401 (fixture)
from onnx import helper

from hw.transforms import MoveLinearPastAbs, MoveLinearPastSub, MoveMulPastSpatialOp

NHWC_TO_NCHW = [0, 3, 1, 2]


def _feed(rng, *names, shape=(1, 4, 4, 3)):
    return {n: rng.integers(0, 16, shape).astype(np.float32) for n in names}


def test_scale_and_transpose_move_below_the_sub_and_the_abs(rng):
    nodes = [
        helper.make_node("Mul", ["a", "s"], ["as"]), helper.make_node("Mul", ["b", "s"], ["bs"]),
        helper.make_node("Transpose", ["as"], ["at"], perm=NHWC_TO_NCHW),
        helper.make_node("Transpose", ["bs"], ["bt"], perm=NHWC_TO_NCHW),
        helper.make_node("Sub", ["at", "bt"], ["d"]), helper.make_node("Abs", ["d"], ["y"]),
    ]
    model = graph(nodes, {"a": [1, 4, 4, 3], "b": [1, 4, 4, 3]}, {"y": [1, 3, 4, 4]}, {"s": 0.37})
    feed = _feed(rng, "a", "b")
    after = model.transform(MoveLinearPastSub()).transform(MoveLinearPastAbs())
    assert ops(after)[:2] == ["Sub", "Abs"], ops(after)
    assert sorted(ops(after)[2:]) == ["Mul", "Transpose"]
    assert np.allclose(run(after, feed), run(model, feed), atol=1e-6)  # float scale applied at another point


def test_sub_of_different_scales_is_not_touched(rng):
    nodes = [helper.make_node("Mul", ["a", "s"], ["as"]), helper.make_node("Mul", ["b", "r"], ["bs"]),
             helper.make_node("Sub", ["as", "bs"], ["y"])]
    model = graph(nodes, {"a": [1, 4, 4, 3], "b": [1, 4, 4, 3]}, {"y": [1, 4, 4, 3]}, {"s": 0.5, "r": 0.25})
    assert ops(model.transform(MoveLinearPastSub())) == ["Mul", "Mul", "Sub"]


def test_abs_of_a_negative_per_channel_scale_takes_its_magnitude(rng):
    nodes = [helper.make_node("Mul", ["x", "c"], ["xc"]), helper.make_node("Abs", ["xc"], ["y"])]
    model = graph(nodes, {"x": [1, 4, 4, 3]}, {"y": [1, 4, 4, 3]}, {"c": [-0.5, 2.0, -3.0]})
    feed = {"x": rng.normal(size=(1, 4, 4, 3)).astype(np.float32)}
    after = model.transform(MoveLinearPastAbs())
    assert ops(after) == ["Abs", "Mul"]
    assert np.array_equal(run(after, feed), run(model, feed))


@pytest.mark.parametrize("const,moves", [([[[[0.5]], [[2.0]], [[1.5]]]], True),  # per channel: commutes
                                         ([[[[0.5, 2.0, 1.0, 1.0]]]], False)])  # varies along W: must not move
def test_mul_moves_below_nearest_resize_only_when_uniform_spatially(rng, const, moves):
    nodes = [helper.make_node("Mul", ["x", "c"], ["xc"]),
             helper.make_node("Resize", ["xc", "roi", "scales"], ["y"], mode="nearest")]
    model = graph(nodes, {"x": [1, 3, 4, 4]}, {"y": [1, 3, 8, 8]},
                  {"c": const, "roi": np.zeros(0), "scales": [1, 1, 2, 2]})
    feed = {"x": rng.normal(size=(1, 3, 4, 4)).astype(np.float32)}
    after = model.transform(MoveMulPastSpatialOp())
    assert ops(after) == (["Resize", "Mul"] if moves else ["Mul", "Resize"])
    assert np.array_equal(run(after, feed), run(model, feed))


@pytest.mark.parametrize("scale,moves", [(0.25, True), (-0.25, False)])  # max(c x) = c max(x) only for c > 0
def test_mul_moves_below_max_pool_only_when_positive(rng, scale, moves):
    nodes = [helper.make_node("Mul", ["x", "c"], ["xc"]),
             helper.make_node("MaxPool", ["xc"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    model = graph(nodes, {"x": [1, 3, 4, 4]}, {"y": [1, 3, 2, 2]}, {"c": scale})
    feed = {"x": rng.normal(size=(1, 3, 4, 4)).astype(np.float32)}
    after = model.transform(MoveMulPastSpatialOp())
    assert ops(after) == (["MaxPool", "Mul"] if moves else ["Mul", "MaxPool"])
    assert np.array_equal(run(after, feed), run(model, feed))
