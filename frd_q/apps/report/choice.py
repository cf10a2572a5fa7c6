"""Which designs a sweep offers and which one to fly: the power proxy, the Pareto front and the per-board choice.

The choice rule: the highest F1 among the designs that fit the board (every FINN estimate within the build's fit
limit) and reach the target rate; a design within `F1_TIE` of it with fewer LUTs wins.
"""

from __future__ import annotations

F1_TIE = 0.005  #: F1 differences below this are treated as ties when choosing a design
POWER_WEIGHTS = {"LUT": 1.0, "DSP": 10.0, "BRAM_18K": 20.0, "URAM": 80.0}


def power_proxy(est: dict) -> float:
    return est["clock_mhz"] * sum(w * est["total"][r] for r, w in POWER_WEIGHTS.items()) / 1e6


def pareto(points: list[tuple[float, float]], minimize_x: bool = True) -> list[int]:
    """Indices of the points (x, F1) no other point beats: higher F1 and at most the same cost (or at least the same
    rate when minimize_x is False), one strictly better. Sorted by x."""
    keep = []
    for i, (x, f) in enumerate(points):
        dominated = False
        for j, (x2, f2) in enumerate(points):
            better_x = x2 <= x if minimize_x else x2 >= x
            strictly = (x2 != x) or (f2 != f)
            if j != i and better_x and f2 >= f and strictly:
                dominated = True
                break
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: points[i][0])


def reaches(entry: dict) -> bool:
    return entry["estimates"]["fps"] >= 0.99 * entry["target_fps"]


def choose(records: list[dict], board: str) -> dict | None:
    """The design to fly on `board`: highest F1 among points that fit and reach the target rate; a point within
    F1_TIE of the best with fewer LUTs is preferred; among equally many LUTs, the higher F1."""
    ok = [r for r in records if board in r["boards"] and r["boards"][board]["fits"] and reaches(r["boards"][board])]
    if not ok:
        return None
    best = max(r["eval"]["f1"] for r in ok)
    close = [r for r in ok if r["eval"]["f1"] >= best - F1_TIE]
    return min(close, key=lambda r: (r["boards"][board]["estimates"]["total"]["LUT"], -r["eval"]["f1"]))
