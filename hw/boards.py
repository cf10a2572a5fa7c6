"""The board catalogue (`hw/boards.yaml`) as frozen dataclasses.

    from hw.boards import get_board, BOARDS
    board = get_board("ZCU104")     # case-insensitive; ConfigError naming the known boards otherwise
    board.capacity["LUT"], board.clock_ns, board.part
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from frd_q.errors import ConfigError

CATALOGUE = Path(__file__).with_name("boards.yaml")
RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")  #: the resource names FINN's estimates use


@dataclass(frozen=True)
class Board:
    name: str  #: catalogue name, e.g. ZCU104
    part: str  #: FPGA part string for FINN and Vivado
    family: str  #: device family, for people
    clock_ns: float  #: default target clock period
    lut: int  #: LUTs
    ff: int  #: flip-flops
    bram18: int  #: 18 Kb block RAMs
    uram: int  #: UltraRAM blocks
    dsp: int  #: DSP slices
    finn_platform: str | None = None  #: FINN Zynq shell for a bitfile (None: stops at the stitched IP)
    part_checked: bool = True  #: False: the part string was not checked against a Vivado part list

    @property
    def capacity(self) -> dict[str, int]:
        return dict(zip(RESOURCES, (self.lut, self.ff, self.bram18, self.uram, self.dsp)))

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.clock_ns


def load_catalogue(path: Path = CATALOGUE) -> dict[str, Board]:
    raw = yaml.safe_load(path.read_text())
    known = {f.name for f in fields(Board)}
    boards = {}
    for name, entry in raw.items():
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{path}: board {name}: unknown key(s) {sorted(unknown)}")
        boards[name] = Board(name=name, **entry)
    return boards


BOARDS = load_catalogue()


def get_board(name: str) -> Board:
    for key, board in BOARDS.items():
        if key.lower() == name.lower():
            return board
    raise ConfigError(f"unknown board {name!r}; known boards: {', '.join(BOARDS)}")


def catalogue_table() -> str:
    """The catalogue as a fixed-width table (for `--board list`)."""
    head = f"{'board':<11} {'part':<24} {'MHz':>5} {'LUT':>7} {'FF':>7} {'BRAM18':>6} {'URAM':>4} {'DSP':>5}  family"
    rows = [head]
    for b in BOARDS.values():
        note = "" if b.part_checked else "  (part string unchecked)"
        rows.append(f"{b.name:<11} {b.part:<24} {b.clock_mhz:>5.0f} {b.lut:>7} {b.ff:>7} {b.bram18:>6} {b.uram:>4} "
                    f"{b.dsp:>5}  {b.family}{note}")
    return "\n".join(rows)
