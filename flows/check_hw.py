"""Compare the FINN hardware-layer graph of a build with the PyTorch student on every tile of a data root; the twin
of `frd-q check-hw`.

    python flows/check_hw.py --build build/ZCU104 --data ../shared/data/real_cd [--limit N]

Prints one line per tile and a total; exits 1 if any output integer differs, 2 on bad input.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from frd_q.apps.cli import main

    sys.exit(main(["check-hw", *sys.argv[1:]]))
