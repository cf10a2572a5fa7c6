"""The measurements: real labelled tiles with their fault-free runs, one upset per memory and bit position
(`sensitivity`), which memories to protect (`top_memories`), and random upsets at a bit error rate with and
without TMR (`ber_sweep`).

Effects are measured on real tiles with labels: F1 of the change decisions against ground truth (the host tail of
hw.runner makes the logits), and the fraction of pixels whose decision differs from the fault-free accelerator
(more sensitive than F1). Protection by triple modular redundancy (TMR) stores three copies of a memory and reads
the bitwise majority; a bit is then wrong only when two copies flipped at the same place.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.metrics import Confusion
from sim.seu.model import Memory, SeuModel, flip


@dataclass
class Tile:
    key: str
    label: np.ndarray  #: (T, T) uint8 ground truth
    valid: np.ndarray  #: (T, T) bool, False on mirrored padding
    clean: dict  #: fault-free execution context
    decision: np.ndarray  #: fault-free change decisions


def load_tiles(model: SeuModel, data: str | Path, list_file: str | None = None, limit: int | None = None) -> list[Tile]:
    """The real labelled tiles the campaign is measured on, with their fault-free executions."""
    from frd_q.config import DataSource
    from frd_q.data.dataset import TileDataset, load_pairs, scan_root

    pairs = load_pairs(scan_root(DataSource(root=str(data), list=list_file)), model.runner.channels)
    t = model.runner.tile
    ds = TileDataset(pairs, t)
    tiles = []
    for i, y, x in ds.index:
        if limit is not None and len(tiles) >= limit:
            break
        a, b, label, valid = (arr[y : y + t, x : x + t] for arr in ds.padded[i][:4])
        clean = model.clean_context(a, b)
        tiles.append(Tile(f"{pairs[i].record.key}@{y},{x}", label, valid, clean, model.decisions(clean[model.runner.output])))
    if not tiles:
        raise ConfigError(f"{data}: no tiles to measure on")
    return tiles


def _evaluate(model: SeuModel, tiles: list[Tile], faulty: dict) -> tuple[Confusion, float]:
    conf, flipped, pixels = Confusion(), 0, 0
    for t in tiles:
        d = model.decisions(model.run(t.clean, faulty)) if faulty else t.decision
        conf.update(d, t.label, t.valid)
        flipped += int((d != t.decision)[t.valid].sum())
        pixels += int(t.valid.sum())
    return conf, flipped / max(pixels, 1)


def sensitivity(model: SeuModel, tiles: list[Tile], memories: list[Memory] | None = None,
                bits: list[int] | None = None, trials: int = 1, flips: int = 1, seed: int = 0,
                journal: Path | None = None, log=None) -> dict:
    """Per memory and bit position: `flips` random words get that bit flipped, `trials` times; F1 change and the
    fraction of decisions that differ from the fault-free accelerator, averaged over trials.

    With `journal` (a JSONL file) finished rows are appended as they come and reused on a rerun with the same
    settings, so a long campaign can be interrupted and resumed."""
    memories = memories or model.memories
    base, _ = _evaluate(model, tiles, {})
    f1_clean = base.metrics()["f1"]
    done = {}
    if journal and journal.is_file():
        for line in journal.read_text().splitlines():
            row = json.loads(line)
            done[(row["layer"], row["bit"])] = row
    rows = []
    for mem in memories:
        words = model.words(mem)
        for bit in (range(mem.bits) if bits is None else [b for b in bits if b < mem.bits]):
            if (mem.layer, bit) in done:
                rows.append(done[(mem.layer, bit)])
                continue
            start = time.time()
            f1s, flipped = [], []
            for trial in range(trials):
                rng = np.random.default_rng([seed, mem.node, bit, trial])
                pos = rng.choice(words.size, size=min(flips, words.size), replace=False)
                conf, fl = _evaluate(model, tiles, {mem: flip(words, pos, bit)})
                f1s.append(conf.metrics()["f1"])
                flipped.append(fl)
            row = {"layer": mem.layer, "rtl_layer": mem.rtl_layer, "kind": mem.kind, "bit": bit, "bits": mem.bits,
                   "msb": bit == mem.bits - 1, "trials": trials, "flips": flips,
                   "delta_f1": float(np.mean(f1s) - f1_clean), "worst_delta_f1": float(min(f1s) - f1_clean),
                   "flipped_fraction": float(np.mean(flipped)), "seconds": round(time.time() - start, 2)}
            rows.append(row)
            if journal:
                with journal.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
            if log:
                log(f"{mem.layer} bit {bit}: dF1 {row['delta_f1']:+.4f}, {100 * row['flipped_fraction']:.3f}% decisions changed")
    return {"f1_clean": f1_clean, "tiles": [t.key for t in tiles], "rows": rows,
            "memories": [asdict(m) | {"total_bits": m.total_bits} for m in model.memories]}


def top_memories(table: dict, k: int, kind: str | None = None) -> list[str]:
    """The k memories (of `kind`, or any with None) that random upsets hurt most, worst first.

    Under a uniform bit error rate p a memory receives p * words * bits upsets, each changing on average the mean
    over its bit positions of the measured share of decisions; its expected harm is therefore proportional to
    words * (sum over bit positions of that share). Large, mildly sensitive memories can outrank small, very
    sensitive ones."""
    words = {m["layer"]: m["words"] for m in table["memories"]}
    score: dict[str, float] = {}
    for row in table["rows"]:
        if kind is None or row["kind"] == kind:
            share = row["flipped_fraction"] / row["flips"]
            score[row["layer"]] = score.get(row["layer"], 0.0) + words[row["layer"]] * share
    return sorted(score, key=lambda name: -score[name])[:k]


def _bit_errors(rng: np.random.Generator, shape, bits: int, rate: float) -> np.ndarray:
    """A uint64 mask per word with each of its `bits` bits set independently with probability `rate`."""
    mask = np.zeros(shape, np.uint64)
    for bit in range(bits):
        mask |= (rng.random(shape) < rate).astype(np.uint64) << np.uint64(bit)
    return mask


def ber_sweep(model: SeuModel, tiles: list[Tile], rates: list[float], trials: int = 3, protect: list[str] = (),
              seed: int = 0, log=None) -> dict:
    """F1 when every stored bit flips with probability `rate`, unprotected and with TMR on the `protect`
    memories (same random upsets in the first copy for both, so the difference is the protection's)."""
    protected = {model.memory(n).layer for n in protect}
    base, _ = _evaluate(model, tiles, {})
    rows = []
    for rate in rates:
        for trial in range(trials):
            rng = np.random.default_rng([seed, trial, int(round(rate * 1e12))])
            plain, tmr, counts = {}, {}, {"none": 0, "tmr": 0}
            for mem in model.memories:
                words = model.words(mem)
                e1 = _bit_errors(rng, words.shape, mem.bits, rate)
                e2 = _bit_errors(rng, words.shape, mem.bits, rate)
                e3 = _bit_errors(rng, words.shape, mem.bits, rate)
                voted = (e1 & e2) | (e1 & e3) | (e2 & e3) if mem.layer in protected else e1
                for name, errors, faulty in (("none", e1, plain), ("tmr", voted, tmr)):
                    if errors.any():
                        faulty[mem] = words ^ errors
                        counts[name] += int(np.unpackbits(errors.view(np.uint8)).sum())
            for name, faulty in (("none", plain), ("tmr", tmr)):
                conf, fl = _evaluate(model, tiles, faulty)
                rows.append({"rate": rate, "trial": trial, "protection": name, "f1": conf.metrics()["f1"],
                             "flipped_fraction": fl, "faulty_memories": len(faulty), "flipped_bits": counts[name]})
                if log:
                    log(f"rate {rate:g} trial {trial} {name}: F1 {rows[-1]['f1']:.4f}, "
                        f"{100 * fl:.3f}% decisions changed, {len(faulty)} memories hit")
    total = sum(m.total_bits for m in model.memories)
    extra = 2 * sum(m.total_bits for m in model.memories if m.layer in protected)
    return {"f1_clean": base.metrics()["f1"], "protected": sorted(protected), "memory_bits": total,
            "tmr_extra_bits": extra, "rows": rows}
