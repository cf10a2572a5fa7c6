"""Hardware in the loop, simulated: real tiles through the whole RTL accelerator, as a payload would feed it.

    r = stream_tile("build/pynq", a, b, in_stall=0.3, out_stall=0.3, seed=7)
    r["mismatches"] == 0                        # against the PyTorch student's integers
    t = throughput("build/pynq", [(a, b), (a2, b2)])
    t["cycles_per_tile"], t["estimate"]         # measured steady-state interval vs FINN's estimate

Every all-RTL accelerator runs end to end with open simulators: the early-fusion student, and the Siamese student
now that its stream operators have RTL (hw.rtl_ops), with one input stream per date. Each source withholds valid
and the sink withholds ready at random, independently per port (AXI-Stream rules kept: a raised valid stays up
until taken), so every layer's handshake and every FIFO between layers is exercised under backpressure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.export.qonnx import graph_feed
from frd_q.export.reference import head_accumulators
from frd_q.train.checkpoint import load_model
from hw.buildfolder import BuildFolder
from hw.fifo_sizing import why_not_end_to_end
from hw.finn_env import finn_session
from hw.rtlsim.accelerator import Accelerator


def _accelerator(build_dir: str | Path, cache=None, log=None):
    acc = Accelerator(build_dir, cache=cache, log=log)
    reason = why_not_end_to_end(acc)
    if reason:
        raise ConfigError(f"{build_dir}: cannot run end to end: {reason}; use frd-q verify, which simulates its RTL "
                          "layers one chain at a time")
    return acc


def _pixels(acc, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    return list(graph_feed(acc.model, a, b).values())


def stream_tile(build_dir: str | Path, a: np.ndarray, b: np.ndarray, in_stall: float = 0.0, out_stall: float = 0.0,
                seed: int = 1, cache=None, log=None) -> dict:
    """One tile through the simulated accelerator; compared with head_accumulators of the build's model."""
    folder = BuildFolder(build_dir)
    model, _, _ = load_model(folder.summary.hw_checkpoint)
    with finn_session(folder.finn_tmp):
        acc = _accelerator(build_dir, cache, log)
        ((out,),), stats = acc.simulate_graph([_pixels(acc, a, b)], in_stall, out_stall, seed)
        expected = acc.expected_cycles()
    ref = head_accumulators(model, a, b)
    diff = out.astype(np.int64) != ref
    return {"mismatches": int(diff.sum()), "elements": int(diff.size), "cycles": stats["cycles"],
            "estimate": expected, "wall_s": stats["wall_s"], "cached": stats["cached"],
            "in_stall": in_stall, "out_stall": out_stall}


def stream_tiles(build_dir: str | Path, tiles: list[tuple[np.ndarray, np.ndarray]], in_stall: float = 0.0,
                 out_stall: float = 0.0, seed: int = 1, cache=None, log=None) -> dict:
    """Tiles streamed back to back through the simulated accelerator in one run (as a payload feeds it), each
    compared with the PyTorch student's head accumulators: mismatches per tile, the cycle each tile's last output
    left, the steady-state cycles per tile and what they give at the board's clock."""
    folder = BuildFolder(build_dir)
    summary = folder.summary
    model, _, _ = load_model(summary.hw_checkpoint)
    with finn_session(folder.finn_tmp):
        acc = _accelerator(build_dir, cache, log)
        frames, stats = acc.simulate_graph([_pixels(acc, a, b) for a, b in tiles], in_stall, out_stall, seed)
        expected = acc.expected_cycles()
    per_tile = []
    for ((out,), (a, b)) in zip(frames, tiles):
        per_tile.append(int((out.astype(np.int64) != head_accumulators(model, a, b)).sum()))
    ends = stats["frame_end"][0]
    interval = (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else None
    clock_hz = 1e9 / summary.clock_ns
    rows = summary.config.get("rows") or summary.tile
    pixels = rows * summary.tile
    out = {"tiles": len(tiles), "mismatches": per_tile, "elements": int(frames[0][0].size) * len(tiles),
           "frame_end": ends, "latency_cycles": ends[0], "cycles_per_tile": interval, "estimate": expected,
           "ratio": interval / expected if interval else None, "cycles": stats["cycles"], "wall_s": stats["wall_s"],
           "in_stall": in_stall, "out_stall": out_stall, "clock_mhz": clock_hz / 1e6}
    if interval:
        out["tiles_per_s"] = clock_hz / interval
        out["megapixels_per_s"] = out["tiles_per_s"] * pixels / 1e6
    return out


def throughput(build_dir: str | Path, tiles: list[tuple[np.ndarray, np.ndarray]], cache=None, log=None) -> dict:
    """Tiles streamed back to back without stalls: latency of the first, steady-state cycles per tile after it."""
    if len(tiles) < 2:
        raise ConfigError("throughput needs at least two tiles (the interval between two frames)")
    with finn_session(BuildFolder(build_dir, must_exist=False).finn_tmp):
        acc = _accelerator(build_dir, cache, log)
        _, stats = acc.simulate_graph([_pixels(acc, a, b) for a, b in tiles])
        expected = acc.expected_cycles()
        bottleneck = max(acc.nodes, key=lambda n: acc.insts[n].get_exp_cycles())
    ends = stats["frame_end"][0]
    interval = (ends[-1] - ends[0]) / (len(ends) - 1)
    return {"tiles": len(tiles), "latency_cycles": ends[0], "cycles_per_tile": interval, "estimate": expected,
            "ratio": interval / expected, "bottleneck": bottleneck, "wall_s": stats["wall_s"],
            "cached": stats["cached"]}
