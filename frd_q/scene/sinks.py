"""Where finished logit rows go: an in-memory array, a GeoTIFF/PNG mask, a colour overlay. Every file sink writes to a
temporary name and renames on close(); abort() discards, so an error leaves no half-written file."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from frd_q.fsutil import AtomicFile
from frd_q.scene.sources import Source, quiet_georeference


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
        with _no_sidecars(), quiet_georeference():
            self.dataset = rasterio.open(self.tif.tmp, "w", **profile)

    def write(self, row, logits):
        from rasterio.windows import Window

        mask = np.where(logits > 0, 255, 0).astype(np.uint8)
        self.dataset.write(mask[None], window=Window(0, row, mask.shape[1], mask.shape[0]))

    def close(self):
        import rasterio.shutil

        self.dataset.close()
        try:
            with _no_sidecars(), quiet_georeference():
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
        with _no_sidecars(), quiet_georeference():
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
            with _no_sidecars(), quiet_georeference():
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
