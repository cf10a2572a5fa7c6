"""Where a scene's pixels come from: an in-memory array or a raster file read one strip of rows at a time.

    a, b = open_pair("A.tif", "B.tif", channels=3, bands=(4, 3, 2), value_range=(0, 3000))  # RasterSource each
    ArraySource(image)                                       # a small image already in memory (frd_q.infer)

Both give uint8 (rows, W, C) blocks from `read_rows(start, stop)`; past the edges the engine mirrors rows and
columns with `reflect_index` (numpy's "symmetric" padding). A pair must share its size (and, when georeferenced,
its CRS and transform): one DataError naming the file otherwise.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from frd_q.errors import ConfigError, DataError


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
def quiet_georeference():
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
            with quiet_georeference():
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

