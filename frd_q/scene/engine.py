"""The streaming engine: a scene pair through a Runner in tile x tile windows, one strip of rows at a time, overlapping
windows blended, finished rows handed to the sinks (see frd_q.scene for the method)."""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from frd_q.data.tiling import tile_starts
from frd_q.errors import ConfigError, DataError
from frd_q.scene.runners import Runner
from frd_q.scene.sinks import Sink
from frd_q.scene.sources import Source, reflect_index


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

