"""`frd-q predict` on one scene: open the pair, stream it into the mask, overlay and region sinks, write GeoJSON and
statistics. What to do is a SceneOptions."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from frd_q.errors import ConfigError
from frd_q.fsutil import write_json
from frd_q.scene.engine import predict_scene
from frd_q.scene.regions import Regions, area_unit, write_geojson
from frd_q.scene.runners import Runner
from frd_q.scene.sinks import MaskWriter, OverlayWriter
from frd_q.scene.sources import open_pair


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


@dataclass(frozen=True)
class SceneOptions:
    """How `frd-q predict` reads, tiles and writes one scene."""

    tile: int  #: window size (the accelerator's tile size for a FINN build)
    overlap: int = 0  #: pixels shared by neighbouring windows, blended
    channels: int = 3  #: bands the model takes
    bands: tuple[int, ...] | None = None  #: 1-based raster bands to read (None: the first `channels`)
    value_range: tuple[float, float] | None = None  #: input values mapped linearly to 0..255 (None: 8-bit input)
    png: str | Path | None = None  #: also write the mask as a PNG here
    overlay: str | Path | None = None  #: a colour overlay of the change on date B here
    min_pixels: int = 1  #: smallest region written to the GeoJSON
    batch_size: int = 4  #: windows per runner call
    model_name: str = ""  #: recorded in the statistics
    progress: Callable[[int, int], None] | None = None  #: called with (strips done, strips) after each strip


def run_scene(a_path, b_path, runner: Runner, out: str | Path, options: SceneOptions) -> dict:
    """Everything `frd-q predict` does for one scene; returns the statistics written beside the mask."""
    import rasterio

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        return _run_scene(a_path, b_path, runner, out, options)


def _run_scene(a_path, b_path, runner: Runner, out: str | Path, opt: SceneOptions) -> dict:
    paths = scene_outputs(out)
    sa, sb = open_pair(a_path, b_path, opt.channels, opt.bands, opt.value_range)
    try:
        crs, transform = sa.crs, sa.transform
        mask_sink = MaskWriter(paths["mask"], sa.height, sa.width, crs, transform, png=opt.png)
        regions = Regions(transform, opt.min_pixels)
        sinks: list = [mask_sink, regions]
        if opt.overlay:
            sinks.append(OverlayWriter(opt.overlay, sb, crs, transform))
        run = predict_scene(sa, sb, runner, opt.tile, opt.overlap, sinks, opt.batch_size, opt.progress)
        unit = area_unit(crs)
        write_geojson(paths["geojson"], regions, crs, unit)
        pixel_area = abs(transform.a * transform.e - transform.b * transform.d)
        stats = {
            "a": str(sa.path), "b": str(sb.path), "model": opt.model_name, "bands": list(sa.bands),
            "width": sa.width, "height": sa.height, "crs": crs.to_string() if crs else None,
            "transform": list(transform)[:6], "tile": opt.tile, "overlap": opt.overlap, "tiles": run["tiles"],
            "changed_pixels": regions.changed, "changed_fraction": regions.changed / max(regions.total, 1),
            "changed_area": regions.changed * pixel_area if unit != "px" else regions.changed, "area_unit": unit,
            "regions": len(regions), "min_region_pixels": opt.min_pixels,
            "largest_region_pixels": regions.largest,
            "seconds": run["seconds"], "peak_rss_mb": round(peak_rss_mb(), 1),
            "outputs": {k: str(v) for k, v in paths.items()},
        }
        write_json(paths["stats"], stats)
        return stats
    finally:
        sa.close()
        sb.close()
