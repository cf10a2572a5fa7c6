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

Modules, one job each:
  sources   ArraySource, RasterSource (windowed rasterio reads), open_pair, parse_bands/parse_range, reflect_index
  runners   Runner (the callable contract), TorchRunner
  sinks     ArraySink, MaskWriter (GeoTIFF/PNG), OverlayWriter
  regions   Regions (connected components across strips), write_geojson, area_unit
  engine    blend_weights, predict_scene (the strip loop)
  run       SceneOptions, run_scene (`frd-q predict` on one scene: outputs, GeoJSON, statistics), scene_outputs
"""

from frd_q.scene.engine import blend_weights, predict_scene
from frd_q.scene.regions import Regions, area_unit, write_geojson
from frd_q.scene.run import SceneOptions, peak_rss_mb, run_scene, scene_outputs
from frd_q.scene.runners import Runner, TorchRunner
from frd_q.scene.sinks import ArraySink, MaskWriter, OverlayWriter, Sink
from frd_q.scene.sources import ArraySource, RasterSource, Source, open_pair, parse_bands, parse_range, reflect_index

__all__ = [
    "ArraySink", "ArraySource", "MaskWriter", "OverlayWriter", "RasterSource", "Regions", "Runner", "SceneOptions",
    "Sink", "Source", "TorchRunner", "area_unit", "blend_weights", "open_pair", "parse_bands", "parse_range",
    "peak_rss_mb", "predict_scene", "reflect_index", "run_scene", "scene_outputs", "write_geojson",
]
