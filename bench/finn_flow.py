"""Wall time of the FINN flow per step, and of the bit-exactness check per tile, for one checkpoint.

    .venv/bin/python bench/finn_flow.py --checkpoint runs/student_w4a4/best.pt [--board ZCU104] [--tiles 3]

Builds into a temporary folder (deleted afterwards), prints seconds per flow step and the mean seconds per 256x256
tile of sim.check.check_hw_graph (python execution of the accelerator graph + the PyTorch integer reference) on the
first --tiles tiles of ../shared/data/real_cd.
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
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--board", default="ZCU104")
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "real_cd"))
    p.add_argument("--tiles", type=int, default=3)
    args = p.parse_args()
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    from sim.check import check_hw_graph
    from hw.flow import BuildConfig, run_flow

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "build"
        t0 = time.perf_counter()
        summary = run_flow(BuildConfig(checkpoint=args.checkpoint, board=args.board, out=out), log=lambda *a, **k: None)
        total = time.perf_counter() - t0
        for step, seconds in summary.steps.items():
            print(f"{step:<20} {seconds:7.1f} s")
        print(f"{'flow total':<20} {total:7.1f} s")
        t0 = time.perf_counter()
        result = check_hw_graph(out, args.data, limit=args.tiles)
        per_tile = (time.perf_counter() - t0) / max(1, result["tiles"])
        print(f"check_hw_graph: {per_tile:.1f} s per tile ({result['tiles']} tiles, {result['mismatches']} mismatches)")


if __name__ == "__main__":
    main()
