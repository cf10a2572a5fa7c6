"""Bit-accuracy of a FINN build from PyTorch to RTL simulation; the twin of `frd-q verify`.

    python flows/verify.py --build build/ZCU104 [--data ../shared/data/real_cd] [--limit N] [--levels hw,rtl]

Prints one line per tile and the per-level table (also written to <build>/verify.md and .json); exits 1 if any
level differs anywhere, 2 on bad input.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from frd_q.apps.cli import main

    sys.exit(main(["verify", *sys.argv[1:]]))
