"""Whole-scene prediction: streamed tiling and blending, GeoTIFF in/out, regions, bands, bad input.

GeoTIFF inputs here are real image pairs from ../shared/data/real_cd written as GeoTIFF with a made-up UTM grid
(10 m pixels), to check that the CRS and transform reach every output; the pixels are the real ones.
"""

import json

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from rasterio.crs import CRS
from rasterio.transform import from_origin
from scipy import ndimage

from frd_q.apps.cli import main
from frd_q.data.io import read_image
from frd_q.data.tiling import tile_starts
from frd_q.infer import predict_logits
from frd_q.scene import ArraySink, ArraySource, Regions, TorchRunner, predict_scene, reflect_index
from frd_q.train.checkpoint import load_model

UTM = CRS.from_epsg(32631)
GRID = from_origin(500000.0, 5000000.0, 10.0, 10.0)


def write_tif(path, image, crs=UTM, transform=GRID, dtype="uint8"):
    bands = np.moveaxis(image, -1, 0).astype(dtype)
    with rasterio.open(path, "w", driver="GTiff", height=image.shape[0], width=image.shape[1], count=bands.shape[0],
                       dtype=dtype, crs=crs, transform=transform) as ds:
        ds.write(bands)
    return path


@pytest.fixture
def oscd(real_cd):
    d = real_cd / "OSCD_RGB"
    return read_image(d / "A" / "rennes.png"), read_image(d / "B" / "rennes.png")


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), pad=st.integers(0, 130))
def test_reflection_is_numpys_symmetric_padding_for_any_length(n, pad):
    x = np.arange(n)
    assert np.array_equal(x[reflect_index(np.arange(n + pad), n)], np.pad(x, (0, pad), mode="symmetric"))


class Crop:
    """A runner that returns band 0 of window A as its 'logits': stitching must give back band 0 of the image."""

    def __call__(self, a, b):
        return a[..., 0].astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 70), w=st.integers(1, 70), tile=st.sampled_from([8, 16, 32]), data=st.data())
def test_streamed_blending_reconstructs_any_image_exactly(h, w, tile, data):
    overlap = data.draw(st.integers(0, tile - 1))
    batch = data.draw(st.integers(1, 5))
    img = np.random.default_rng(h * 71 + w).integers(0, 256, size=(h, w, 1), dtype=np.uint8)
    sink = ArraySink(h, w)
    run = predict_scene(ArraySource(img), ArraySource(img), Crop(), tile, overlap, [sink], batch)
    assert np.abs(sink.logits - img[..., 0]).max() < 1e-4  # a weighted mean of equal values
    assert np.array_equal(np.round(sink.logits), img[..., 0])
    assert run["tiles"] == len(tile_starts(h, tile, overlap)) * len(tile_starts(w, tile, overlap))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 60), w=st.integers(1, 60), strip=st.integers(1, 20), seed=st.integers(0, 10**6))
def test_regions_merged_across_strips_equal_whole_image_components(h, w, strip, seed):
    mask = np.random.default_rng(seed).random((h, w)) < 0.45  # synthetic masks
    regions = Regions()
    for y in range(0, h, strip):
        regions.write(y, np.where(mask[y : y + strip], 1.0, -1.0))
    regions.close()
    labels, n = ndimage.label(mask)
    want = sorted(np.bincount(labels.ravel())[1:].tolist(), reverse=True)
    found = regions.regions()
    assert [r["pixels"] for r in found] == want
    assert all(abs(r["geometry"].area - r["pixels"]) < 1e-9 for r in found)  # polygons cover exactly the pixels


def test_scene_stream_from_geotiff_equals_in_memory_prediction(tiny_checkpoint, oscd, tmp_path):
    model, _, _ = load_model(tiny_checkpoint)
    a, b = oscd
    ta, tb = write_tif(tmp_path / "a.tif", a), write_tif(tmp_path / "b.tif", b)
    for overlap in (0, 32):
        want = predict_logits(model, a, b, 64, overlap)
        from frd_q.scene import open_pair

        sa, sb = open_pair(ta, tb)
        sink = ArraySink(sa.height, sa.width)
        predict_scene(sa, sb, TorchRunner(model), 64, overlap, [sink], batch_size=3)
        assert np.array_equal(sink.logits, want)


def test_predict_geotiff_keeps_grid_and_writes_regions_and_stats(tiny_checkpoint, oscd, tmp_path, capsys):
    a, b = oscd
    ta, tb = write_tif(tmp_path / "a.tif", a), write_tif(tmp_path / "b.tif", b)
    out = tmp_path / "out" / "mask.tif"
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(ta), "--b", str(tb), "--out", str(out),
                 "--png", str(tmp_path / "out" / "mask.png"), "--overlay", str(tmp_path / "out" / "over.tif"),
                 "--tile", "128", "--overlap", "16"]) == 0
    with rasterio.open(out) as ds:
        assert ds.crs == UTM and ds.transform.almost_equals(GRID) and (ds.height, ds.width) == a.shape[:2]
        mask = ds.read(1)
    assert set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "mask.png")), mask)
    with rasterio.open(tmp_path / "out" / "over.tif") as ds:
        assert ds.crs == UTM and ds.count == 3
    stats = json.loads(out.with_suffix(".json").read_text())
    geo = json.loads(out.with_suffix(".geojson").read_text())
    changed = int((mask == 255).sum())
    assert stats["changed_pixels"] == changed and stats["area_unit"] == "m2" and stats["changed_area"] == 100.0 * changed
    assert stats["crs"] == "EPSG:32631" and geo["crs"]["properties"]["name"] == "EPSG:32631"
    labels, n = ndimage.label(mask == 255)
    assert stats["regions"] == n == len(geo["features"])
    assert sum(f["properties"]["pixels"] for f in geo["features"]) == changed
    from shapely.geometry import shape

    for f in geo["features"][:20]:
        g = shape(f["geometry"])
        assert abs(g.area - f["properties"]["area"]) < 1e-6 and f["properties"]["area_unit"] == "m2"
        x0, y0, x1, y1 = g.bounds  # in the UTM grid, inside the scene's footprint
        assert 500000.0 <= x0 and x1 <= 500000.0 + 10 * a.shape[1] and 5000000.0 - 10 * a.shape[0] <= y0 and y1 <= 5000000.0
    assert "regions" in capsys.readouterr().out
    assert sorted(p.name for p in out.parent.iterdir()) == ["mask.geojson", "mask.json", "mask.png", "mask.tif", "over.tif"]


def test_bands_and_value_range_select_and_scale(tiny_checkpoint, oscd, tmp_path, capsys):
    a, b = oscd
    # four bands, 16-bit: a constant first band, then the real RGB times 10 (a 10x reflectance-like scale)
    four = lambda img: np.concatenate([np.full(img.shape[:2] + (1,), 7), img.astype(np.uint16) * 10], -1)  # noqa: E731
    ta, tb = write_tif(tmp_path / "a.tif", four(a), dtype="uint16"), write_tif(tmp_path / "b.tif", four(b), dtype="uint16")
    ref = tmp_path / "ref.tif"
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(write_tif(tmp_path / "a8.tif", a)),
                 "--b", str(write_tif(tmp_path / "b8.tif", b)), "--out", str(ref)]) == 0
    out = tmp_path / "four.tif"
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(ta), "--b", str(tb), "--out", str(out),
                 "--bands", "2,3,4", "--range", "0,2550"]) == 0
    with rasterio.open(ref) as r, rasterio.open(out) as o:
        assert np.array_equal(r.read(1), o.read(1))
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(ta), "--b", str(tb),
                 "--out", str(tmp_path / "x.tif"), "--bands", "2,3,4"]) == 2
    assert f"{ta}: uint16 pixels; give --range" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(ta), "--b", str(tb),
                 "--out", str(tmp_path / "x.tif"), "--range", "0,2550"]) == 0  # first three bands by default
    assert main(["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(ta), "--b", str(tb),
                 "--out", str(tmp_path / "y.tif"), "--bands", "2,3,9", "--range", "0,2550"]) == 2
    assert "band 9 requested, the file has 4" in capsys.readouterr().err
    assert not (tmp_path / "y.tif").exists()


def truncate(path):
    """Cut a GeoTIFF in half: the header reads, the pixels of the lower rows are gone."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("problem, message", [
    ("size", "differs from"),
    ("crs", "CRS EPSG:32632 differs from"),
    ("grid", "the dates must be co-registered"),
    ("missing", "file not found"),
    ("corrupt", "cannot read image"),
    ("truncated", "cannot read rows"),
    ("two_bands", "2 band(s), but the model takes 3"),
    ("out_suffix", "written as .tif (GeoTIFF) or .png"),
    ("both_models", "exactly one of --checkpoint"),
])
def test_predict_bad_input_one_line_no_output(problem, message, tiny_checkpoint, oscd, tmp_path, capsys):
    a, b = oscd
    ta = write_tif(tmp_path / "a.tif", a)
    tb = {
        "size": lambda: write_tif(tmp_path / "b.tif", b[:-1]),
        "crs": lambda: write_tif(tmp_path / "b.tif", b, crs=CRS.from_epsg(32632)),
        "grid": lambda: write_tif(tmp_path / "b.tif", b, transform=from_origin(500010.0, 5000000.0, 10.0, 10.0)),
        "missing": lambda: tmp_path / "nope.tif",
        "corrupt": lambda: (tmp_path / "b.tif").write_bytes(b"II*\x00garbage") and tmp_path / "b.tif",
        "two_bands": lambda: write_tif(tmp_path / "b.tif", b[..., :2]),
        "truncated": lambda: truncate(write_tif(tmp_path / "b.tif", b)),
    }.get(problem, lambda: write_tif(tmp_path / "b.tif", b))()
    out = tmp_path / "out" / ("mask.jpg" if problem == "out_suffix" else "mask.tif")
    args = ["predict", "--checkpoint", str(tiny_checkpoint), "--a", str(ta if problem != "two_bands" else tb),
            "--b", str(tb), "--out", str(out)]
    if problem == "both_models":
        args += ["--model", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_predict_with_the_deployed_integer_graph_and_qonnx_matches_pytorch(siamese_build, real_cd, tmp_path):
    out, _ = siamese_build
    d = real_cd / "LEVIR-CD"
    name = "val_27_0000_0256"
    common = ["--a", str(d / "A" / f"{name}.png"), "--b", str(d / "B" / f"{name}.png")]
    assert main(["predict", "--model", str(out), *common, "--out", str(tmp_path / "hw.png")]) == 0
    assert main(["predict", "--checkpoint", str(out / "model.pt"), *common, "--out", str(tmp_path / "pt.png")]) == 0
    onnx = sorted((out / "intermediate").glob("*_export.onnx"))[-1]
    assert main(["predict", "--model", str(onnx), *common, "--out", str(tmp_path / "qonnx.png")]) == 0
    hw, pt, qo = (np.asarray(Image.open(tmp_path / f)) for f in ("hw.png", "pt.png", "qonnx.png"))
    assert hw.shape == (256, 256) and np.array_equal(hw, pt) and np.array_equal(qo, pt)
    assert main(["predict", "--model", str(out), *common, "--out", str(tmp_path / "x.png"), "--tile", "128"]) == 2
