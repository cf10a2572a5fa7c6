"""Compare the FINN hardware-layer graph of a build with the PyTorch student on every tile of a data root.

    python flows/check_hw.py --build build/ZCU104 --data ../shared/data/real_cd

Prints one line per tile and a total; exits 1 if any output integer differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def main(argv: list[str] | None = None) -> int:
    import logging
    import warnings

    from frd_q.errors import FrdError

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Named tensors", category=UserWarning)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", type=Path, required=True, help="flows/build.py output folder")
    p.add_argument("--data", type=Path, required=True, help="data root with {A,B,label} folders")
    p.add_argument("--list", help="optional list file of pair names")
    p.add_argument("--limit", type=int, help="check only the first N tiles")
    args = p.parse_args(argv)
    try:
        from hw.check import check_hw_graph

        r = check_hw_graph(args.build, args.data, args.list, args.limit, log=print)
    except FrdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{r['tiles']} tiles, {r['elements']} output integers, {r['mismatches']} mismatches"
          + (f" (first at {r['first_mismatch']}, max |diff| {r['max_abs_diff']})" if r["mismatches"] else ""))
    return 1 if r["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
