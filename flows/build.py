"""Build a FINN dataflow accelerator for a frd_q student checkpoint.

    python flows/build.py --board list
    python flows/build.py --board ZCU104 --checkpoint runs/student_w4a4/best.pt --out build/zcu104
    python flows/build.py --board Pynq-Z1 --checkpoint CKPT --target-fps 5 --out build/pynq
    python flows/build.py --board ZCU104 --checkpoint CKPT --folding build/zcu104/folding_config.json --out build/f
    python flows/build.py --board ZCU104 --checkpoint CKPT --out build/zcu104 --start-step folding --target-fps 50

Runs the steps of hw/steps.py as far as the installed tools allow (without Vivado / Vitis HLS: through RTL and
HLS code generation) and writes the outputs listed in hw/flow.py. `frd-q build` is the same command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def parser() -> argparse.ArgumentParser:
    from hw.steps import STEP_NAMES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--board", required=True, help="board name from hw/boards.yaml, or 'list' to print the catalogue")
    p.add_argument("--checkpoint", type=Path, help="student checkpoint (frd-q train output)")
    p.add_argument("--out", type=Path, help="output folder (default build/<board>)")
    p.add_argument("--tile", type=int, default=256, help="tile size the accelerator processes (default 256)")
    fold = p.add_mutually_exclusive_group()
    fold.add_argument("--target-fps", type=float, help="tiles per second to fold for (default: fastest that fits)")
    fold.add_argument("--folding", type=Path, help="FINN folding JSON to apply")
    p.add_argument("--clock-ns", type=float, help="clock period in ns (default: the board's)")
    p.add_argument("--fit-limit", type=float, default=0.9, help="largest share of each board resource to use (0.9)")
    p.add_argument("--mvau-wwidth-max", type=int, default=288,
                   help="widest MVAU weight stream in bits (PE*SIMD*weight bits) folding may use (288)")
    p.add_argument("--fifo-sizing", choices=["search", "room", "off"], default="search",
                   help="FIFO depths of a branching graph by Verilator simulation: search (smallest full-speed depths "
                        "and the depths that deadlock, default), room (one run: the occupancy with room everywhere), "
                        "off (FINN's depth 2)")
    p.add_argument("--start-step", choices=STEP_NAMES, help="resume from this step")
    p.add_argument("--stop-step", choices=STEP_NAMES, help="stop after this step (an error if its tools are missing)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    return p


def main(argv: list[str] | None = None) -> int:
    import logging
    import warnings

    from frd_q.errors import FrdError

    args = parser().parse_args(argv)
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Named tensors", category=UserWarning)
    try:
        from hw.boards import catalogue_table, get_board

        if args.board.lower() == "list":
            print(catalogue_table())
            return 0
        board = get_board(args.board)
        if args.checkpoint is None:
            raise FrdError("--checkpoint is required to build")
        from hw.flow import BuildConfig, run_flow

        cfg = BuildConfig(checkpoint=args.checkpoint, board=board.name, out=args.out or Path("build") / board.name,
                          tile=args.tile, target_fps=args.target_fps, folding=args.folding, clock_ns=args.clock_ns,
                          fit_limit=args.fit_limit, mvau_wwidth_max=args.mvau_wwidth_max,
                          fifo_sizing=args.fifo_sizing, start_step=args.start_step, stop_step=args.stop_step, overwrite=args.overwrite)
        summary = run_flow(cfg)
    except FrdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    est = summary.get("estimates")
    if est:
        t, u = est["total"], est["utilization"]
        print(f"{board.name}: {est['fps']:.2f} tiles/s of {cfg.tile}x{cfg.tile} ({est['megapixels_per_s']:.2f} Mpixel/s)"
              f" at {est['clock_mhz']:g} MHz; LUT {t['LUT']:.0f} ({100 * u['LUT']:.1f} %), BRAM_18K {t['BRAM_18K']:.1f}"
              f" ({100 * u['BRAM_18K']:.1f} %), DSP {t['DSP']:.0f}; bottleneck {est['bottleneck']}")
        if summary.get("folding", {}).get("limited_by") == "folding limits":
            print(f"  speed limited by folding limits, not by the board: try --mvau-wwidth-max "
                  f"{2 * cfg.mvau_wwidth_max}")
    sizing = summary.get("fifo_sizing", {})
    if sizing.get("sized"):
        print(f"  FIFOs sized by simulation: {sizing['total']['bits'] / 8192:.1f} KiB in all, {sizing['deep']} deeper "
              f"than FINN's (fifo_sizing.json)")
    hls = summary.get("hdl", {}).get("hls_layers")
    if hls:
        print(f"  {len(hls)} layers are HLS only (need Vitis HLS): {', '.join(hls[:6])}{' ...' if len(hls) > 6 else ''}")
    print(f"outputs in {cfg.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
