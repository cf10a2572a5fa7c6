"""A whole all-RTL accelerator in Verilator on real tiles: bit-exactness, cycles per tile, Mpixel/s at the clock.

    .venv/bin/python bench/rtl_sim.py --build BUILD [--data ../shared/data/real_cd] [--tiles 4] [--stalls 0,0.3]

BUILD is a flows/build.py output whose every layer has RTL and whose FIFOs are sized (the Siamese student built
with the default options, or the early-fusion student). Prints the compile time, then streams the first TILES
real tiles of DATA back to back through the stitched accelerator once per stall probability in STALLS (the sources
and the sink withhold valid / ready with that probability, independently per port and cycle; 0: none) and prints
per run the mismatches against the PyTorch student per tile, the steady-state cycles per tile against
FINN's estimate, and tiles/s and Mpixel/s at the build's clock.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True, type=Path)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "real_cd"))
    p.add_argument("--tiles", type=int, default=4, help="real tiles streamed back to back (at least 2)")
    p.add_argument("--stalls", default="0,0.3", help="stall probabilities, one run each (default 0,0.3)")
    args = p.parse_args()
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from frd_q.config import DataSource
    from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
    from hw.buildfolder import BuildFolder
    from hw.finn_env import finn_session
    from sim.hil import _accelerator, stream_tiles

    folder = BuildFolder(args.build)
    tiles = []
    for key, a, b in iter_tiles(load_pairs(scan_root(DataSource(root=args.data))), folder.summary.tile):
        if len(tiles) == args.tiles:
            break
        tiles.append((key, a, b))
    print(f"{'build':<28} {args.build} ({folder.summary.board_name}, {folder.summary.clock_ns:g} ns)")
    print(f"{'tiles':<28} {', '.join(k for k, _, _ in tiles)}")
    with tempfile.TemporaryDirectory() as cache:
        with finn_session(folder.finn_tmp):
            acc = _accelerator(args.build, cache)
            t0 = time.perf_counter()
            acc.compile(list(acc.nodes))
            print(f"{'layers':<28} {len(acc.nodes)}")
            print(f"{'compile (Verilator + g++)':<28} {time.perf_counter() - t0:7.1f} s")
        for stall in [float(x) for x in args.stalls.split(",") if x.strip()]:
            r = stream_tiles(args.build, [(a, b) for _, a, b in tiles], stall, stall, seed=7, cache=cache)
            print(f"-- stalls {stall:.0%} in / {stall:.0%} out")
            print(f"{'mismatches per tile':<28} {r['mismatches']} (of {r['elements'] // len(tiles)} each)")
            print(f"{'simulated':<28} {r['cycles']} cycles in {r['wall_s']:.1f} s "
                  f"({r['cycles'] / r['wall_s'] / 1e3:.1f} k cycles/s)")
            print(f"{'cycles per tile':<28} {r['cycles_per_tile']:.0f} vs FINN estimate {r['estimate']} "
                  f"(ratio {r['ratio']:.3f}); first tile out after {r['latency_cycles']} cycles")
            print(f"{'throughput':<28} {r['tiles_per_s']:.1f} tiles/s = {r['megapixels_per_s']:.2f} Mpixel/s "
                  f"at {r['clock_mhz']:g} MHz")


if __name__ == "__main__":
    main()
