"""Augmentations keep A, B and the mask aligned, and are a pure function of the generator."""

import numpy as np

from frd_q.config import AugmentConfig
from frd_q.data.augment import augment


def sample(seed=0, size=16):
    rng = np.random.default_rng(seed)
    a = rng.random((3, size, size)).astype(np.float32)
    b = rng.random((3, size, size)).astype(np.float32)
    label = (a[0] > b[0]).astype(np.float32)  # label is a pixelwise function of both dates
    valid = np.ones((size, size), bool)
    valid[:, -3:] = False
    return {"a": a, "b": b, "label": label, "valid": valid, "name": "s"}


def test_geometry_keeps_pixel_relation():
    cfg = AugmentConfig(flip=True, rot90=True, swap=0.0, jitter=0.0)
    for seed in range(20):
        out = augment(sample(), cfg, np.random.default_rng(seed))
        assert np.array_equal(out["label"], (out["a"][0] > out["b"][0]).astype(np.float32))
        assert out["valid"].sum() == 16 * 13


def test_swap_exchanges_dates_only():
    s = sample()
    out = augment(s, AugmentConfig(flip=False, rot90=False, swap=1.0, jitter=0.0), np.random.default_rng(0))
    assert np.array_equal(out["a"], s["b"]) and np.array_equal(out["b"], s["a"])
    assert np.array_equal(out["label"], s["label"])


def test_jitter_is_per_date_and_bounded():
    s = sample()
    out = augment(s, AugmentConfig(flip=False, rot90=False, swap=0.0, jitter=0.3), np.random.default_rng(3))
    assert out["a"].min() >= 0 and out["a"].max() <= 1
    assert not np.allclose(out["a"], s["a"]) and not np.allclose(out["b"], s["b"])
    assert np.array_equal(out["label"], s["label"])


def test_same_generator_same_result():
    cfg = AugmentConfig()
    x = augment(sample(), cfg, np.random.default_rng(7))
    y = augment(sample(), cfg, np.random.default_rng(7))
    assert all(np.array_equal(x[k], y[k]) for k in ("a", "b", "label", "valid"))


def blocks(size, y0, y1, x0, x1):
    """A synthetic sample with one changed square: date B is bright there, the label marks it, the last column is
    padding."""
    a = np.zeros((3, size, size), np.float32)
    b = a.copy()
    b[:, y0:y1, x0:x1] = 1.0
    label = (b[0] > 0).astype(np.float32)
    valid = np.ones((size, size), bool)
    valid[:, -size // 8:] = False
    return {"a": a, "b": b, "label": label, "valid": valid, "name": "s"}


def test_rescale_moves_images_and_masks_together():
    from frd_q.data.augment import rescale

    up = rescale(blocks(64, 16, 32, 8, 40), 128)  # x2: the square lands on exactly twice its coordinates
    assert up["a"].shape == (3, 128, 128) and up["label"].shape == (128, 128) and up["valid"].dtype == bool
    want = np.zeros((128, 128), np.float32)
    want[32:64, 16:80] = 1
    assert np.array_equal(up["label"], want)
    assert np.array_equal(up["b"][0] > 0.5, want > 0)  # the bright square is where the label says
    assert set(np.unique(up["label"])) <= {0.0, 1.0} and up["valid"].sum() == 128 * 112
    down = rescale(blocks(128, 32, 64, 16, 80), 64)  # and back: x1/2
    assert np.array_equal(down["label"], blocks(64, 16, 32, 8, 40)["label"])
    assert np.array_equal(down["b"][0] > 0.5, down["label"] > 0) and down["valid"].sum() == 64 * 56
    assert down["a"].min() >= 0 and down["b"].max() <= 1
