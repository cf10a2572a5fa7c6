"""Property tests for the loaders on synthetic files: labels, band counts, pair sizes and tile coverage."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from frd_q.data.dataset import TileDataset
from frd_q.data.io import PairRecord, read_image, read_label, read_pair
from frd_q.errors import DataError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(values=st.lists(st.integers(0, 255), min_size=1, max_size=4, unique=True), h=st.integers(1, 20),
       w=st.integers(1, 20), seed=st.integers(0, 1000))
def test_label_accepted_iff_values_are_0_1_255(tmp_path, values, h, w, seed):
    label = np.random.default_rng(seed).choice(values, size=(h, w)).astype(np.uint8)
    path = tmp_path / "label.png"
    Image.fromarray(label, "L").save(path)
    present = set(np.unique(label).tolist())
    if present <= {0, 1, 255}:
        got = read_label(path)
        assert got.dtype == np.uint8 and np.array_equal(got, (label > 0).astype(np.uint8))
    else:
        with pytest.raises(DataError, match="label.png: label values"):
            read_label(path)
    assert np.array_equal(read_label(path, threshold=127), (label > 127).astype(np.uint8))


@SETTINGS
@given(mode=st.sampled_from(["L", "RGB", "RGBA"]), channels=st.sampled_from([1, 3]), h=st.integers(1, 16),
       w=st.integers(1, 16))
def test_images_read_with_the_expected_bands_or_fail_naming_the_file(tmp_path, mode, channels, h, w):
    bands = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    arr = np.random.default_rng(h * w).integers(0, 256, size=(h, w, bands), dtype=np.uint8)
    path = tmp_path / f"img_{mode}.png"
    Image.fromarray(arr[..., 0] if bands == 1 else arr, mode).save(path)
    usable = 1 if mode == "L" else 3  # RGBA loses its alpha band
    if usable == channels:
        got = read_image(path, channels)
        assert got.shape == (h, w, channels) and np.array_equal(got, arr[..., :channels])
    else:
        with pytest.raises(DataError, match=f"{path.name}: .*in_channels is {channels}"):
            read_image(path, channels)


@SETTINGS
@given(ha=st.integers(1, 12), wa=st.integers(1, 12), hb=st.integers(1, 12), wb=st.integers(1, 12))
def test_pair_sizes_must_agree(tmp_path, ha, wa, hb, wb):
    paths = {}
    for name, (h, w) in {"a": (ha, wa), "b": (hb, wb), "label": (ha, wa)}.items():
        paths[name] = tmp_path / f"{name}.png"
        Image.fromarray(np.zeros((h, w, 3) if name != "label" else (h, w), np.uint8)).save(paths[name])
    rec = PairRecord("", "x", paths["a"], paths["b"], paths["label"])
    if (ha, wa) == (hb, wb):
        a, b, label = read_pair(rec)
        assert a.shape == b.shape and label.shape == a.shape[:2]
    else:
        with pytest.raises(DataError, match="b.png: size .* differs from .*a.png"):
            read_pair(rec)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 90), w=st.integers(1, 90), tile=st.sampled_from([16, 32, 64]))
def test_tiles_cover_every_pixel_once_as_valid(h, w, tile):
    from frd_q.data.dataset import LoadedPair

    rng = np.random.default_rng(h + 100 * w)
    label = (rng.random((h, w)) < 0.3).astype(np.uint8)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    pair = LoadedPair(PairRecord("", "x", None, None, None), img, img, label)
    ds = TileDataset([pair], tile)
    valid = sum(int(ds[i]["valid"].sum()) for i in range(len(ds)))
    changed = sum(int((ds[i]["label"] * ds[i]["valid"]).sum()) for i in range(len(ds)))
    assert valid == h * w and changed == int(label.sum())
