"""Whole-scene change detection, streamed: any size, PNG or GeoTIFF in, GeoTIFF/PNG mask and GeoJSON regions out.

    a, b = open_pair("A.tif", "B.tif", bands=(4, 3, 2))            # RasterSource: windowed reads, never the whole scene
    runner = TorchRunner(model)                                      # or hw.runner.BuildRunner("build/ZCU104")
    stats = predict_scene(a, b, runner, tile=256, overlap=32,
                          sinks=[MaskWriter("mask.tif", a.profile), Regions()])

The scene is processed one strip of `tile` rows at a time. Each strip is cut into `tile`-wide windows (positions
from frd_q.data.tiling.tile_starts), the runner turns each window pair into change logits, and overlapping windows
are blended with weights that ramp linearly over the overlap (and are 1 elsewhere, so with overlap 0 every pixel
comes from exactly one window). Rows that no later window touches are finished and handed to the sinks; the
`overlap` rows shared with the next strip are carried over. Memory therefore grows with the scene width, not its
area: two strips of input bands plus one float64 strip of sums. Past the right and bottom edges the scene is
mirrored (numpy's "symmetric" padding, for any pad length), exactly as the in-memory tiling of training does.

The same engine serves small images held in memory (ArraySource, used by frd_q.infer.predict_logits) and any
runner: the PyTorch model here, the deployed integer FINN graph in hw/runner.py.
"""

from __future__ import annotations

import contextlib
import json
import resource
import time
import warnings
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from frd_q.data.tiling import tile_starts
from frd_q.errors import ConfigError, DataError
from frd_q.fsutil import AtomicFile, atomic_path, write_json

# ----------------------------------------------------------------------------------------------------------- sources


def reflect_index(index: np.ndarray, n: int) -> np.ndarray:
    """Source index of each (possibly out-of-range, >= 0) index under numpy's 'symmetric' padding of length n."""
    m = np.asarray(index) % (2 * n)
    return np.where(m < n, m, 2 * n - 1 - m)


class Source(Protocol):
    height: int
    width: int
    channels: int
    name: str

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """uint8 (stop - start, width, channels) of scene rows [start, stop)."""


class ArraySource:
    """An in-memory uint8 (H, W, C) image as a Source."""

    def __init__(self, array: np.ndarray, name: str = "<array>"):
        if array.dtype != np.uint8 or array.ndim != 3:
            raise DataError(f"{name}: expected uint8 (H, W, C), got {array.dtype} {array.shape}")
        self.array, self.name = array, name
        self.height, self.width, self.channels = array.shape

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        return self.array[start:stop]


def parse_bands(text: str | None) -> tuple[int, ...] | None:
    """'4,3,2' -> (4, 3, 2) (1-based, as GDAL counts bands)."""
    if text is None:
        return None
    try:
        bands = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"--bands {text!r}: expected comma-separated band numbers such as 4,3,2") from None
    if not bands or min(bands) < 1:
        raise ConfigError(f"--bands {text!r}: band numbers start at 1")
    return bands


def parse_range(text: str | None) -> tuple[float, float] | None:
    """'0,3000' -> (0.0, 3000.0): pixel values mapped linearly onto 0..255 (clipped)."""
    if text is None:
        return None
    try:
        low, high = (float(t) for t in text.split(","))
    except ValueError:
        raise ConfigError(f"--range {text!r}: expected LOW,HIGH such as 0,3000") from None
    if not high > low:
        raise ConfigError(f"--range {text!r}: HIGH must be greater than LOW")
    return low, high


@contextlib.contextmanager
def _quiet_georeference():
    """PNG/JPEG scenes have no georeferencing: rasterio's warning about it is expected, not news."""
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield


class RasterSource:
    """One date of a scene read through rasterio (GeoTIFF, PNG, JPEG, ...), a strip at a time.

    `bands` are 1-based band numbers (default: the first `channels` bands). Pixels must be 8-bit unless
    `value_range` (low, high) is given, which maps values linearly onto 0..255 and clips (e.g. Sentinel-2
    reflectances). Every problem raises DataError naming the file."""

    def __init__(self, path: str | Path, channels: int, bands: Sequence[int] | None = None,
                 value_range: tuple[float, float] | None = None):
        import rasterio
        from rasterio.errors import RasterioError

        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found")
        try:
            with _quiet_georeference():
                self.dataset = rasterio.open(self.path)
                self.crs, self.transform = self.dataset.crs, self.dataset.transform  # identity for plain images
        except (RasterioError, OSError) as e:
            raise DataError(f"{self.path}: cannot read image ({e})") from None
        ds = self.dataset
        self.bands = tuple(bands) if bands else tuple(range(1, min(channels, ds.count) + 1))
        if len(self.bands) != channels:
            what = f"bands {list(self.bands)}" if bands else f"{ds.count} band(s)"
            self.close()
            raise DataError(f"{self.path}: {what}, but the model takes {channels} (choose them with --bands)")
        if max(self.bands) > ds.count:
            self.close()
            raise DataError(f"{self.path}: band {max(self.bands)} requested, the file has {ds.count}")
        dtypes = {ds.dtypes[i - 1] for i in self.bands}
        self.value_range = value_range
        if value_range is None and dtypes != {"uint8"}:
            self.close()
            raise DataError(f"{self.path}: {'/'.join(sorted(dtypes))} pixels; give --range LOW,HIGH to map them onto 0..255")
        self.height, self.width, self.channels = ds.height, ds.width, channels

    @property
    def georeferenced(self) -> bool:
        return self.crs is not None

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        from rasterio.errors import RasterioError
        from rasterio.windows import Window

        try:
            data = self.dataset.read(list(self.bands), window=Window(0, start, self.width, stop - start))
        except (RasterioError, OSError) as e:
            raise DataError(f"{self.path}: cannot read rows {start}..{stop} ({e})") from None
        data = np.moveaxis(data, 0, -1)
        if self.value_range is None:
            return np.ascontiguousarray(data)
        low, high = self.value_range
        scaled = (data.astype(np.float64) - low) * (255.0 / (high - low))
        return np.clip(np.round(scaled), 0, 255).astype(np.uint8)

    def close(self) -> None:
        self.dataset.close()


def open_pair(a: str | Path, b: str | Path, channels: int = 3, bands: Sequence[int] | None = None,
              value_range: tuple[float, float] | None = None) -> tuple[RasterSource, RasterSource]:
    """Both dates, checked to be the same size and (when georeferenced) on the same grid."""
    sa = RasterSource(a, channels, bands, value_range)
    try:
        sb = RasterSource(b, channels, bands, value_range)
    except DataError:
        sa.close()
        raise
    try:
        _check_same_grid(sa, sb)
    except DataError:
        sa.close()
        sb.close()
        raise
    return sa, sb


def _check_same_grid(sa: RasterSource, sb: RasterSource) -> None:
    if (sa.height, sa.width) != (sb.height, sb.width):
        raise DataError(f"{sb.path}: size {sb.width}x{sb.height} differs from {sa.path} ({sa.width}x{sa.height})")
    if sa.georeferenced and sb.georeferenced:
        if sa.crs != sb.crs:
            raise DataError(f"{sb.path}: CRS {sb.crs} differs from {sa.path} ({sa.crs}); reproject one first")
        if not sa.transform.almost_equals(sb.transform):
            raise DataError(f"{sb.path}: pixel grid {tuple(sb.transform)[:6]} differs from {sa.path} "
                            f"({tuple(sa.transform)[:6]}); the dates must be co-registered")


# ----------------------------------------------------------------------------------------------------------- runners

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(a, b) uint8 (N, T, T, C) window batches -> float32 (N, T, T) change logits (> 0 = change)."""


class TorchRunner:
    """The PyTorch model (float or Brevitas) as a Runner."""

    def __init__(self, model, device="cpu"):
        self.model, self.device = model, device
        self.size_multiple = model.size_multiple

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import torch

        to_input = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float().div(255.0).to(self.device)  # noqa: E731
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self.model(to_input(a), to_input(b))
        self.model.train(was_training)
        return out[:, 0].float().cpu().numpy()


# ------------------------------------------------------------------------------------------------------------- sinks


class Sink(Protocol):
    def write(self, row: int, logits: np.ndarray) -> None:
        """Finished scene rows [row, row + len(logits)) as float32 (rows, width) logits."""

    def close(self) -> None:
        """All rows are written."""


class ArraySink:
    """Collects the logits of the whole scene in memory (for images that fit)."""

    def __init__(self, height: int, width: int):
        self.logits = np.zeros((height, width), np.float32)

    def write(self, row, logits):
        self.logits[row : row + len(logits)] = logits

    def close(self):
        pass


def _no_sidecars():
    import rasterio

    return rasterio.Env(GDAL_PAM_ENABLED="NO")  # no .aux.xml files beside the outputs


class MaskWriter:
    """The change mask (0/255 uint8, one band) as a tiled, compressed GeoTIFF with the input's CRS and transform,
    or as a PNG when `path` ends in .png (a GDAL copy of a temporary GeoTIFF, streamed). `png` adds a PNG copy
    beside a GeoTIFF. Files appear under their names only when complete."""

    def __init__(self, path: str | Path, height: int, width: int, crs=None, transform=None,
                 png: str | Path | None = None):
        import rasterio
        from rasterio.transform import Affine

        path = Path(path)
        self.as_png = path.suffix.lower() == ".png"
        self.tif = AtomicFile(path, ".tif")  # with a PNG target, never committed
        self.pngs = [AtomicFile(p) for p in ([path] if self.as_png else []) + ([png] if png else [])]
        profile = dict(driver="GTiff", height=height, width=width, count=1, dtype="uint8", compress="deflate",
                       crs=crs, transform=transform or Affine.identity())
        if height >= 16 and width >= 16:
            profile.update(tiled=True, blockxsize=256 if width >= 256 else 16, blockysize=256 if height >= 256 else 16)
        with _no_sidecars(), _quiet_georeference():
            self.dataset = rasterio.open(self.tif.tmp, "w", **profile)

    def write(self, row, logits):
        from rasterio.windows import Window

        mask = np.where(logits > 0, 255, 0).astype(np.uint8)
        self.dataset.write(mask[None], window=Window(0, row, mask.shape[1], mask.shape[0]))

    def close(self):
        import rasterio.shutil

        self.dataset.close()
        try:
            with _no_sidecars(), _quiet_georeference():
                for png in self.pngs:
                    rasterio.shutil.copy(self.tif.tmp, png.tmp, driver="PNG")
        except BaseException:
            self.abort()
            raise
        for png in self.pngs:
            png.commit()
        if self.as_png:
            self.tif.discard()
        else:
            self.tif.commit()

    def abort(self):
        self.dataset.close()
        for f in [self.tif, *self.pngs]:
            f.discard()


class OverlayWriter:
    """Changed pixels tinted red over the time-2 image: RGB GeoTIFF, or PNG by suffix (via a temporary GeoTIFF)."""

    def __init__(self, path: str | Path, source: Source, crs=None, transform=None, alpha: float = 0.5):
        import rasterio
        from rasterio.transform import Affine

        path = Path(path)
        self.source, self.alpha = source, alpha
        self.tif = AtomicFile(path, ".tif")
        self.png = AtomicFile(path) if path.suffix.lower() == ".png" else None
        with _no_sidecars(), _quiet_georeference():
            self.dataset = rasterio.open(self.tif.tmp, "w", driver="GTiff", height=source.height,
                                         width=source.width, count=3, dtype="uint8", crs=crs,
                                         transform=transform or Affine.identity())

    def write(self, row, logits):
        from rasterio.windows import Window

        img = self.source.read_rows(row, row + len(logits))
        rgb = (img[..., :3] if img.shape[2] >= 3 else np.repeat(img[..., :1], 3, 2)).astype(np.float32)
        mask = logits > 0
        rgb[mask] = (1 - self.alpha) * rgb[mask] + self.alpha * np.array([255.0, 0.0, 0.0], np.float32)
        out = np.moveaxis(np.round(rgb).astype(np.uint8), -1, 0)
        self.dataset.write(out, window=Window(0, row, out.shape[2], out.shape[1]))

    def close(self):
        import rasterio.shutil

        self.dataset.close()
        if self.png is None:
            self.tif.commit()
            return
        try:
            with _no_sidecars(), _quiet_georeference():
                rasterio.shutil.copy(self.tif.tmp, self.png.tmp, driver="PNG")
            self.png.commit()
        finally:
            self.tif.discard()
            self.png.discard()

    def abort(self):
        self.dataset.close()
        self.tif.discard()
        if self.png:
            self.png.discard()


class _UnionFind:
    def __init__(self):
        self.parent: list[int] = []

    def add(self, n: int) -> int:
        first = len(self.parent)
        self.parent.extend(range(first, first + n))
        return first

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


class Regions:
    """Connected changed regions (4-connectivity), found strip by strip, merged across strip borders, and written
    out as soon as they are complete.

    Each strip's components are labelled and polygonized (rasterio.features.shapes, in the scene's CRS through
    `transform`); a component touching the previous strip's last row is joined to it by union-find. A region none
    of whose pieces reaches the current strip's last row can no longer grow: its pieces are unioned (shapely) and
    the finished polygon goes to a temporary spill file, so memory holds only the regions still open, plus one
    pixel count per component. `regions()` reads them back (largest first); `write_geojson` streams them."""

    def __init__(self, transform=None, min_pixels: int = 1):
        import tempfile

        from rasterio.transform import Affine

        self.transform = transform or Affine.identity()
        self.min_pixels = min_pixels
        self.changed = self.total = 0
        self._uf = _UnionFind()
        self._pixels: list[int] = []  # per component id
        self._pieces: dict[int, list] = {}  # open component id -> polygons
        self._last_row = None  # component ids of the previous strip's last row (-1 = no change)
        self._spill = tempfile.TemporaryFile("w+")
        self._index: list[tuple[int, int]] = []  # (pixels, offset) of each finished region in the spill file

    def write(self, row, logits):
        from rasterio.features import shapes
        from rasterio.windows import Window, transform as window_transform
        from scipy import ndimage
        from shapely.geometry import shape

        mask = logits > 0
        self.total += mask.size
        self.changed += int(mask.sum())
        labels, n = ndimage.label(mask)  # 4-connectivity
        first = self._uf.add(n)
        self._pixels.extend(np.bincount(labels.ravel(), minlength=n + 1)[1:].tolist())
        gid = np.where(labels > 0, labels - 1 + first, -1)
        if self._last_row is not None:
            both = (self._last_row >= 0) & (gid[0] >= 0)
            for i, j in set(zip(self._last_row[both].tolist(), gid[0][both].tolist())):
                self._uf.union(i, j)
        self._last_row = gid[-1].copy()
        if n:
            t = window_transform(Window(0, row, mask.shape[1], mask.shape[0]), self.transform)
            for geom, value in shapes(labels.astype(np.int32), mask=mask, connectivity=4, transform=t):
                self._pieces.setdefault(int(value) - 1 + first, []).append(shape(geom))
        still_open = {self._uf.find(int(g)) for g in np.unique(self._last_row[self._last_row >= 0])}
        self._finish(lambda root: root not in still_open)

    def _finish(self, done) -> None:
        """Union and spill every open region whose root satisfies `done`."""
        from shapely import union_all
        from shapely.geometry import mapping

        groups: dict[int, list[int]] = {}
        for g in self._pieces:
            groups.setdefault(self._uf.find(g), []).append(g)
        for root, members in groups.items():
            if not done(root):
                continue
            polys = [p for g in members for p in self._pieces.pop(g)]
            pixels = sum(self._pixels[g] for g in members)
            if pixels < self.min_pixels:
                continue
            geom = polys[0] if len(polys) == 1 else union_all(polys)
            offset = self._spill.tell()
            self._spill.write(json.dumps({"pixels": pixels, "geometry": mapping(geom)}) + "\n")
            self._index.append((pixels, offset))

    def close(self):
        self._finish(lambda root: True)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def largest(self) -> int:
        return max((p for p, _ in self._index), default=0)

    def __iter__(self):
        """Finished regions, largest first: {id, pixels, area (CRS units^2 or pixels), geometry (GeoJSON dict)}."""
        pixel_area = abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)
        self._spill.flush()
        for k, (_, offset) in enumerate(sorted(self._index, key=lambda t: (-t[0], t[1]))):
            self._spill.seek(offset)
            d = json.loads(self._spill.readline())
            yield {"id": k + 1, "pixels": d["pixels"], "area": d["pixels"] * pixel_area, "geometry": d["geometry"]}
        self._spill.seek(0, 2)

    def regions(self) -> list[dict]:
        """All finished regions as a list (geometry as shapely objects), largest first."""
        from shapely.geometry import shape

        return [dict(d, geometry=shape(d["geometry"])) for d in self]


def write_geojson(path: str | Path, regions, crs=None, area_unit: str = "px") -> None:
    """A GeoJSON FeatureCollection of the regions (properties id, pixels, area, area_unit), written feature by
    feature; the CRS is named in a `crs` member (GeoJSON 2008 style), since RFC 7946 assumes WGS 84."""
    from shapely.geometry import mapping

    with atomic_path(path) as tmp, tmp.open("w") as fh:
        fh.write('{"type": "FeatureCollection",')
        if crs is not None:
            fh.write(' "crs": ' + json.dumps({"type": "name", "properties": {"name": crs.to_string()}}) + ",")
        fh.write(' "features": [')
        for k, d in enumerate(regions):
            geom = d["geometry"] if isinstance(d["geometry"], dict) else mapping(d["geometry"])
            feature = {"type": "Feature", "id": d["id"], "geometry": geom,
                       "properties": {"id": d["id"], "pixels": d["pixels"], "area": round(d["area"], 6),
                                      "area_unit": area_unit}}
            fh.write(("," if k else "") + "\n" + json.dumps(feature))
        fh.write("\n]}\n")


def area_unit(crs) -> str:
    """'m2' for a projected CRS in metres, '<unit>2' for another linear unit, 'px' without a CRS or for degrees."""
    if crs is None or not crs.is_projected:
        return "px"
    unit = (crs.linear_units or "").lower()
    return "m2" if unit in ("metre", "meter", "m") else f"{unit}2"


# ------------------------------------------------------------------------------------------------------------ engine


def blend_weights(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) window weights: a linear ramp over the `overlap` border pixels, 1 inside; never 0."""
    i = np.arange(tile)
    ramp = np.minimum(1.0, np.minimum(i + 1, tile - i) / (overlap + 1)) if overlap else np.ones(tile)
    return np.outer(ramp, ramp)


def _read_strip(source: Source, y: int, tile: int, cols: np.ndarray) -> np.ndarray:
    rows = reflect_index(np.arange(y, y + tile), source.height)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    block = source.read_rows(lo, hi)
    return block[rows - lo][:, cols]


def predict_scene(a: Source, b: Source, runner: Runner, tile: int, overlap: int = 0, sinks: Sequence[Sink] = (),
                  batch_size: int = 4, progress: Callable[[int, int], None] | None = None) -> dict:
    """Stream the scene through `runner` in windows of tile x tile; hand finished logit rows to every sink.

    Returns {"tiles", "height", "width", "seconds"}. Sinks are closed on success; on an error they are aborted
    (when they can be), so no half-written file remains."""
    if (a.height, a.width) != (b.height, b.width):
        raise DataError(f"{b.name}: size {b.width}x{b.height} differs from {a.name} ({a.width}x{a.height})")
    multiple = getattr(runner, "size_multiple", 1)
    if tile % multiple:
        raise ConfigError(f"tile size {tile} is not a multiple of the model's {multiple}")
    fixed = getattr(runner, "tile", None)
    if fixed is not None and tile != fixed:
        raise ConfigError(f"tile size {tile}: the accelerator graph was built for {fixed}x{fixed} tiles")
    start = time.time()
    height, width = a.height, a.width
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    padded_width = xs[-1] + tile
    cols = reflect_index(np.arange(padded_width), width)
    weights = blend_weights(tile, overlap)
    sums = np.zeros((tile, padded_width), np.float64)
    wsum = np.zeros((tile, padded_width), np.float64)
    tiles = 0
    try:
        for r, y in enumerate(ys):
            strip_a, strip_b = _read_strip(a, y, tile, cols), _read_strip(b, y, tile, cols)
            for i in range(0, len(xs), batch_size):
                chunk = xs[i : i + batch_size]
                wa = np.stack([strip_a[:, x : x + tile] for x in chunk])
                wb = np.stack([strip_b[:, x : x + tile] for x in chunk])
                logits = np.asarray(runner(wa, wb), np.float64)
                for x, z in zip(chunk, logits):
                    sums[:, x : x + tile] += weights * z
                    wsum[:, x : x + tile] += weights
                tiles += len(chunk)
            nxt = ys[r + 1] if r + 1 < len(ys) else y + tile
            done = min(nxt, height) - y  # rows no later window touches
            if done > 0:
                rows = (sums[:done, :width] / wsum[:done, :width]).astype(np.float32)
                for sink in sinks:
                    sink.write(y, rows)
            keep = y + tile - nxt
            sums[:keep], wsum[:keep] = sums[tile - keep :], wsum[tile - keep :]
            sums[keep:], wsum[keep:] = 0.0, 0.0
            if progress:
                progress(r + 1, len(ys))
    except BaseException:
        for sink in sinks:
            if hasattr(sink, "abort"):
                sink.abort()
        raise
    for sink in sinks:
        sink.close()
    return {"tiles": tiles, "height": height, "width": width, "seconds": round(time.time() - start, 3)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def scene_outputs(out: str | Path) -> dict[str, Path]:
    """Where `frd-q predict --out OUT` writes: the mask (GeoTIFF or PNG by suffix), regions and statistics."""
    out = Path(out)
    if out.suffix.lower() not in (".tif", ".tiff", ".png"):
        raise ConfigError(f"{out}: the mask is written as .tif (GeoTIFF) or .png")
    return {"mask": out, "geojson": out.with_suffix(".geojson"), "stats": out.with_suffix(".json")}


GDAL_CACHE_MB = 128
"""GDAL's raster block cache during a scene (its default is 5 % of the machine's RAM, which on a 24 GiB machine
held ~1 GiB of a 10240^2 scene's blocks): strips are read and written once, in order, so a small cache costs
nothing."""


def run_scene(a_path, b_path, runner: Runner, channels: int, out: str | Path, tile: int, overlap: int = 0,
              bands=None, value_range=None, png: str | Path | None = None, overlay: str | Path | None = None,
              min_pixels: int = 1, batch_size: int = 4, model_name: str = "", progress=None) -> dict:
    """Everything `frd-q predict` does for one scene; returns the statistics written beside the mask."""
    import rasterio

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        return _run_scene(a_path, b_path, runner, channels, out, tile, overlap, bands, value_range, png, overlay,
                          min_pixels, batch_size, model_name, progress)


def _run_scene(a_path, b_path, runner, channels, out, tile, overlap, bands, value_range, png, overlay, min_pixels,
               batch_size, model_name, progress) -> dict:
    paths = scene_outputs(out)
    sa, sb = open_pair(a_path, b_path, channels, bands, value_range)
    try:
        crs, transform = sa.crs, sa.transform
        mask_sink = MaskWriter(paths["mask"], sa.height, sa.width, crs, transform, png=png)
        regions = Regions(transform, min_pixels)
        sinks: list = [mask_sink, regions]
        if overlay:
            sinks.append(OverlayWriter(overlay, sb, crs, transform))
        run = predict_scene(sa, sb, runner, tile, overlap, sinks, batch_size, progress)
        unit = area_unit(crs)
        write_geojson(paths["geojson"], regions, crs, unit)
        pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
        stats = {
            "a": str(sa.path), "b": str(sb.path), "model": model_name, "bands": list(sa.bands),
            "width": sa.width, "height": sa.height, "crs": crs.to_string() if crs else None,
            "transform": list(transform)[:6], "tile": tile, "overlap": overlap, "tiles": run["tiles"],
            "changed_pixels": regions.changed, "changed_fraction": regions.changed / max(regions.total, 1),
            "changed_area": regions.changed * pixel_area if unit != "px" else regions.changed, "area_unit": unit,
            "regions": len(regions), "min_region_pixels": min_pixels,
            "largest_region_pixels": regions.largest,
            "seconds": run["seconds"], "peak_rss_mb": round(peak_rss_mb(), 1),
            "outputs": {k: str(v) for k, v in paths.items()},
        }
        write_json(paths["stats"], stats)
        return stats
    finally:
        sa.close()
        sb.close()


__all__ = [
    "ArraySink", "ArraySource", "MaskWriter", "OverlayWriter", "RasterSource", "Regions", "TorchRunner",
    "area_unit", "blend_weights", "open_pair", "parse_bands", "parse_range", "peak_rss_mb", "predict_scene",
    "reflect_index", "run_scene", "scene_outputs", "write_geojson",
]
