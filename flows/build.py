"""Build a FINN dataflow accelerator for a frd_q student checkpoint; the twin of `frd-q build`.

    python flows/build.py --board list
    python flows/build.py --board ZCU104 --checkpoint runs/student_w4a4/best.pt --out build/zcu104
    python flows/build.py --board Pynq-Z1 --checkpoint CKPT --target-fps 5 --out build/pynq
    python flows/build.py --board ZCU104 --checkpoint CKPT --folding build/zcu104/folding_config.json --out build/f
    python flows/build.py --board ZCU104 --checkpoint CKPT --out build/zcu104 --start-step folding --target-fps 50

Runs the steps of hw/steps.py (hw.flow.run_flow) as far as the installed tools allow (without Vivado / Vitis HLS:
through RTL code generation and FIFO sizing) and writes the outputs listed in hw/buildfolder.py; prints the
estimated speed and resources. Exits 2 on bad input.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from frd_q.apps.cli import main

    sys.exit(main(["build", *sys.argv[1:]]))
