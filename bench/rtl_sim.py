"""Verilator simulation speed of a whole all-RTL accelerator, and its cycles per tile against FINN's estimate.

    .venv/bin/python bench/rtl_sim.py --build BUILD [--data ../shared/data/real_cd]

BUILD is a flows/build.py output of the early-fusion (all-RTL) student. With a fresh temporary cache, prints the
compile time, the wall time of one tile (the build's tile size) (raw pixels in, head accumulators out, checked against PyTorch),
simulated cycles per second, and the steady-state cycles per tile of two tiles streamed back to back next to
FINN's estimate.
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
    args = p.parse_args()
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from frd_q.config import DataSource
    from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
    from hw.buildfolder import BuildFolder
    from hw.finn_env import finn_session
    from sim.hil import _accelerator, stream_tile, throughput

    tiles = iter_tiles(load_pairs(scan_root(DataSource(root=args.data))), BuildFolder(args.build).summary.tile)
    (k1, a1, b1), (k2, a2, b2) = next(tiles), next(tiles)
    with tempfile.TemporaryDirectory() as cache:
        with finn_session(BuildFolder(args.build).finn_tmp):
            acc = _accelerator(args.build, cache)
            chain = list(acc.nodes)
            t0 = time.perf_counter()
            acc.compile(chain)
            print(f"{'layers':<28} {len(chain)}")
            print(f"{'compile (Verilator + g++)':<28} {time.perf_counter() - t0:7.1f} s")
        r = stream_tile(args.build, a1, b1, cache=cache)
        print(f"{'one tile, wall':<28} {r['wall_s']:7.1f} s  ({k1}, {r['mismatches']} of {r['elements']} differ)")
        print(f"{'simulated cycles':<28} {r['cycles']:>7}  ({r['cycles'] / r['wall_s'] / 1e3:.0f} k cycles/s)")
        t = throughput(args.build, [(a1, b1), (a2, b2)], cache=cache)
        print(f"{'cycles per tile (2 tiles)':<28} {t['cycles_per_tile']:>7.0f}  vs FINN estimate {t['estimate']} "
              f"({t['bottleneck']}): ratio {t['ratio']:.3f}")
        print(f"{'first-tile latency':<28} {t['latency_cycles']:>7} cycles")


if __name__ == "__main__":
    main()
