"""`campaign`, the whole `frd-q seu` run: load the build and tiles, measure, sweep bit error rates, write the report.

Its steps: the sensitivity table goes through a journal named by the settings (`_journal`), so an interrupted
campaign resumes; the bit error rate sweep protects the memories `top_memories` ranks first; `_write` adds the
plots and the wall time and writes seu.json and seu.md.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from frd_q.fsutil import write_json, write_text
from sim.seu.measure import ber_sweep, load_tiles, sensitivity, top_memories
from sim.seu.model import SeuModel
from sim.seu.report import markdown, plot


def _journal(out: Path, settings: dict) -> Path:
    """The sensitivity journal of these settings (data, tiles, bits, trials, flips, seed): a rerun with the same
    ones reuses its rows."""
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return out / f"sensitivity-{key}.jsonl"


def _write(report: dict, out: Path, start: float) -> None:
    """Plots and the wall time into the report, then seu.json and seu.md into `out`."""
    report["plots"] = plot(report, out)
    report["seconds"] = round(time.time() - start, 1)
    write_json(out / "seu.json", report)
    write_text(out / "seu.md", markdown(report))


def campaign(build_dir: str | Path, data: str | Path, out: str | Path | None = None, list_file: str | None = None,
             limit: int | None = 4, layers: list[str] | None = None, bits: list[int] | None = None, trials: int = 1,
             flips: int = 1, rates: list[float] = (), rate_trials: int = 3, protect: int = 4,
             protect_kind: str | None = None, seed: int = 0, log=None) -> dict:
    """`frd-q seu`: sensitivity table, bit-error-rate sweep with and without TMR, report and plots in `out`."""
    start = time.time()
    model = SeuModel(build_dir)
    out = Path(out) if out else model.build / "seu"
    memories = [model.memory(n) for n in layers] if layers else None
    tiles = load_tiles(model, data, list_file, limit)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"data": str(data), "list": list_file, "limit": limit, "bits": bits, "trials": trials, "flips": flips,
                "seed": seed, "tiles": [t.key for t in tiles]}
    table = sensitivity(model, tiles, memories, bits, trials, flips, seed, _journal(out, settings), log)
    report = {"build": str(model.build), "data": str(data), "sensitivity": table,
              "settings": settings | {"rates": list(rates), "rate_trials": rate_trials, "protect": protect,
                                      "protect_kind": protect_kind}}
    if rates:
        chosen = top_memories(table, protect, protect_kind) if protect else []
        report["ber"] = ber_sweep(model, tiles, list(rates), rate_trials, chosen, seed, log)
    _write(report, out, start)
    return report
