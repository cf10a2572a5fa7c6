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
