"""Single-event upsets (SEU) in the accelerator's memories: which layer, which bit, how bad, and what TMR buys.

    model = SeuModel("build/ZCU104")                    # the deployed integer graph and its stored memories
    tiles = load_tiles(model, "../shared/data/real_cd", limit=4)
    table = sensitivity(model, tiles, trials=2)         # one flipped bit per memory, bit position, trial
    curve = ber_sweep(model, tiles, [1e-5, 1e-4], trials=3, protect=top_memories(table, 3))

What is stored, and how a flip is modelled:
  weights     every MVAU's weight matrix, one `weightDataType` word per weight (INT4: two's complement, bit 3 is
              the sign). Flipping bit k of a stored word is flipping bit k of one weight (the memory packs SIMD
              weights per line; a bit of the line is a bit of one of them).
  thresholds  every Thresholding layer's thresholds, `weightDataType` of the generated RTL layer (e.g. INT15), one
              word per threshold per channel. The RTL (finn-rtllib thresholding.sv) does not count thresholds
              below the input, as the Python node does, but walks a binary search tree: M = log2(N+1) steps, step
              s compares the input with the threshold at the midpoint of the remaining interval. For sorted
              thresholds both give the same integer; a flipped threshold is usually out of order, so faulty
              thresholding layers are executed with that binary search (`search_threshold`) instead.
Word widths come from the latest generated model (Thresholding_rtl_k / MVAU_rtl_k), which minimizes them; the
graph executed is the dataflow partition (Python execution, hw.execute), as for the bit-exactness check.

A fault run re-executes only the graph from the first faulty layer on, starting from the fault-free execution
context of the tile. Effects are measured on real tiles with labels: F1 of the change decisions against ground
truth (the host tail of hw.runner makes the logits), and the fraction of pixels whose decision differs from the
fault-free accelerator (more sensitive than F1). Protection by triple modular redundancy (TMR) stores three copies of a
memory and reads the bitwise majority; a bit is then wrong only when two copies flipped at the same place.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.metrics import Confusion
from hw.graph import base_op


@dataclass(frozen=True)
class Memory:
    """One stored weight or threshold memory of the accelerator."""

    layer: str  #: node name in the dataflow partition (MVAU_3, Thresholding_5)
    rtl_layer: str  #: its name in the generated design (MVAU_rtl_3), or "" without one
    kind: str  #: "weights" or "thresholds"
    tensor: str  #: initializer name in the partition graph
    node: int  #: index of the node in the partition graph
    bits: int  #: stored word width
    signed: bool
    words: int  #: stored values

    @property
    def total_bits(self) -> int:
        return self.bits * self.words


def to_words(values: np.ndarray, bits: int, signed: bool, what: str = "") -> np.ndarray:
    """Integer values -> their `bits`-wide two's-complement (or unsigned) words, uint64."""
    v = np.asarray(values)
    if not np.array_equal(v, np.round(v)):
        raise ConfigError(f"{what}: stored values are not integers")
    v = v.astype(np.int64)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if v.size and (v.min() < low or v.max() > high):
        raise ConfigError(f"{what}: values in [{v.min()}, {v.max()}] do not fit {bits}-bit words")
    return (v & ((1 << bits) - 1)).astype(np.uint64)


def from_words(words: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    w = np.asarray(words, np.uint64).astype(np.int64)
    if signed:
        w = np.where(w >= 1 << (bits - 1), w - (1 << bits), w)
    return w


def search_threshold(x: np.ndarray, thresholds: np.ndarray, act_val: int = 0) -> np.ndarray:
    """The RTL thresholding's binary search: x (..., C) channels last, thresholds (C or 1, 2^M - 1)."""
    n = thresholds.shape[1]
    m = n.bit_length()
    if n != (1 << m) - 1:
        raise ConfigError(f"{n} thresholds: the search-tree model needs 2^M - 1")
    t = np.broadcast_to(thresholds, (x.shape[-1], n))
    channel = np.broadcast_to(np.arange(x.shape[-1]), x.shape)
    out = np.zeros(x.shape, np.int64)
    for level in range(m - 1, -1, -1):
        k = out + (1 << level)
        out = np.where(t[channel, k - 1] <= x, k, out)
    return (out + act_val).astype(np.float32)


class SeuModel:
    """The partition graph of a build with its memories, runnable with any set of faulty memories."""

    def __init__(self, build_dir: str | Path):
        from qonnx.core.datatype import DataType
        from qonnx.custom_op.registry import getCustomOp

        from hw.finn_env import finn_session
        from hw.runner import BuildRunner

        self.runner = BuildRunner(build_dir)
        self.build = self.runner.build
        self.graph = self.runner.graph
        widths = self._rtl_widths()
        self.memories: list[Memory] = []
        self.act_val: dict[str, int] = {}  # the output offset of each Thresholding layer
        with finn_session(self.build / "finn_tmp"):
            for i, node in enumerate(self.graph.graph.node):
                if node.op_type not in ("MVAU", "Thresholding"):
                    continue
                inst = getCustomOp(node)
                kind = "weights" if node.op_type == "MVAU" else "thresholds"
                if kind == "thresholds":
                    self.act_val[node.name] = int(inst.get_nodeattr("ActVal"))
                values = self.graph.get_initializer(node.input[1])
                rtl, dt = widths.get(node.name, ("", inst.get_nodeattr("weightDataType")))
                dtype = DataType[dt]
                mem = Memory(node.name, rtl, kind, node.input[1], i, dtype.bitwidth(), dtype.signed(), int(values.size))
                to_words(values, mem.bits, mem.signed, f"{self.build}: {node.name}")  # check the width holds them
                self.memories.append(mem)
        if not self.memories:
            raise ConfigError(f"{self.build}: the dataflow partition has no MVAU or Thresholding layer")

    def _rtl_widths(self) -> dict[str, tuple[str, str]]:
        """{partition layer: (generated layer, weightDataType)} from the latest specialized model of the build."""
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.custom_op.registry import getCustomOp

        from hw.finn_env import finn_session

        found = {}
        path = self.runner.folder.latest_model(["codegen", "estimates", "folding", "specialize"])
        if path is not None:
            with finn_session(self.runner.folder.finn_tmp):
                model = ModelWrapper(str(path))
                for node in model.graph.node:
                    base = base_op(node.op_type)
                    if base in ("MVAU", "Thresholding") and node.op_type != base:
                        plain = node.name.replace("_rtl", "").replace("_hls", "")
                        found[plain] = (node.name, getCustomOp(node).get_nodeattr("weightDataType"))
        return found

    def memory(self, name: str) -> Memory:
        for m in self.memories:
            if name in (m.layer, m.rtl_layer):
                return m
        raise ConfigError(f"{self.build}: no weight or threshold memory named {name}")

    def words(self, mem: Memory) -> np.ndarray:
        return to_words(self.graph.get_initializer(mem.tensor), mem.bits, mem.signed, mem.layer)

    def clean_context(self, a: np.ndarray, b: np.ndarray) -> dict:
        return self.runner.execute(a, b, keep_all=True)

    def run(self, clean: dict, faulty: dict[Memory, np.ndarray]) -> np.ndarray:
        """Head accumulators with the given memories replaced by faulty words (re-executing from the first)."""
        from qonnx.core.onnx_exec import execute_node
        from qonnx.util.basic import get_preferred_qonnx_opset

        from hw.finn_env import finn_session

        if not faulty:
            return clean[self.runner.output]
        ctx = dict(clean)
        searched = set()
        for mem, words in faulty.items():
            ctx[mem.tensor] = from_words(words, mem.bits, mem.signed).reshape(clean[mem.tensor].shape).astype(np.float32)
            if mem.kind == "thresholds":
                searched.add(mem.layer)
        start = min(m.node for m in faulty)
        opsets = self.graph.get_opset_imports()
        with finn_session(self.build / "finn_tmp"):
            for node in self.graph.graph.node[start:]:
                if node.name in searched:
                    ctx[node.output[0]] = search_threshold(ctx[node.input[0]], ctx[node.input[1]], self.act_val[node.name])
                else:
                    execute_node(node, ctx, self.graph.graph, opsets.get(node.domain, get_preferred_qonnx_opset()))
        return ctx[self.runner.output]

    def decisions(self, acc: np.ndarray) -> np.ndarray:
        from frd_q.export.reference import head_logits

        return head_logits(self.runner.model, acc, (self.runner.tile, self.runner.tile))[0] > 0


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


def flip(words: np.ndarray, positions: np.ndarray, bit: int) -> np.ndarray:
    out = words.copy().reshape(-1)
    out[positions] ^= np.uint64(1 << bit)
    return out.reshape(words.shape)


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


# ------------------------------------------------------------------------------------------------------- reporting


def layer_summary(table: dict) -> list[dict]:
    """Per memory: the most sensitive bit, the mean over bits and the sign/MSB bit's effect (graph order)."""
    by_layer: dict[str, list] = {}
    for row in table["rows"]:
        by_layer.setdefault(row["layer"], []).append(row)
    out = []
    for mem in table["memories"]:
        rows = by_layer.get(mem["layer"])
        if not rows:
            continue
        worst = max(rows, key=lambda r: r["flipped_fraction"])
        msb = [r for r in rows if r["msb"]]
        out.append({"layer": mem["layer"], "rtl_layer": mem["rtl_layer"], "kind": mem["kind"], "bits": mem["bits"],
                    "words": mem["words"], "worst_bit": worst["bit"], "worst_flipped": worst["flipped_fraction"],
                    "worst_delta_f1": min(r["worst_delta_f1"] for r in rows),
                    "mean_flipped": float(np.mean([r["flipped_fraction"] for r in rows])),
                    "msb_flipped": msb[0]["flipped_fraction"] if msb else None})
    return out


def markdown(report: dict) -> str:
    s = report["sensitivity"]
    lines = [f"# SEU fault injection: {report['build']}", "",
             f"{len(s['tiles'])} real tiles from {report['data']}; fault-free F1 {s['f1_clean']:.4f}. Per memory and "
             f"bit position, {report['settings']['flips']} random word(s) get that bit flipped, "
             f"{report['settings']['trials']} trial(s) each (seed {report['settings']['seed']}). 'changed' = share of "
             "pixels whose change decision differs from the fault-free accelerator.", "",
             "| layer | kind | word bits | words | worst bit | changed (worst bit) | changed (sign/MSB) | "
             "changed (mean over bits) | worst dF1 |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in layer_summary(s):
        msb = "" if r["msb_flipped"] is None else f"{100 * r['msb_flipped']:.3f}%"
        lines.append(f"| {r['rtl_layer'] or r['layer']} | {r['kind']} | {r['bits']} | {r['words']} | {r['worst_bit']} | "
                     f"{100 * r['worst_flipped']:.3f}% | {msb} | {100 * r['mean_flipped']:.3f}% | {r['worst_delta_f1']:+.4f} |")
    b = report.get("ber")
    if b:
        lines += ["", f"## Random upsets at a bit error rate, TMR on {', '.join(b['protected']) or 'nothing'}", "",
                  f"Stored bits: {b['memory_bits']}; TMR adds {b['tmr_extra_bits']} "
                  f"({100 * b['tmr_extra_bits'] / b['memory_bits']:.2f}%). Mean over "
                  f"{report['settings']['rate_trials']} trial(s); fault-free F1 {b['f1_clean']:.4f}.", "",
                  "| bit error rate | protection | flipped bits | F1 | decisions changed |", "|---:|---|---:|---:|---:|"]
        for (rate, prot), rows in _group_ber(b).items():
            lines.append(f"| {rate:g} | {prot} | {np.mean([r['flipped_bits'] for r in rows]):.1f} | "
                         f"{np.mean([r['f1'] for r in rows]):.4f} | {100 * np.mean([r['flipped_fraction'] for r in rows]):.3f}% |")
    lines += ["", f"Plots: {', '.join(report.get('plots', []))}", f"{report['seconds']} s", ""]
    return "\n".join(lines)


def _group_ber(b: dict) -> dict:
    groups: dict = {}
    for r in b["rows"]:
        groups.setdefault((r["rate"], r["protection"]), []).append(r)
    return groups


def plot(report: dict, folder: Path) -> list[str]:
    """seu_layers.png (decisions changed per layer and bit) and seu_ber.png (F1 and changes vs bit error rate)."""
    from matplotlib.figure import Figure

    from frd_q.fsutil import atomic_path

    written = []
    s = report["sensitivity"]
    layers = [m for m in s["memories"] if any(r["layer"] == m["layer"] for r in s["rows"])]
    if layers:
        width = max(m["bits"] for m in layers)
        grid = np.full((len(layers), width), np.nan)
        index = {m["layer"]: i for i, m in enumerate(layers)}
        for r in s["rows"]:
            grid[index[r["layer"]], r["bit"]] = 100 * r["flipped_fraction"]
        fig = Figure(figsize=(8, 0.28 * len(layers) + 1.6))
        ax = fig.subplots()
        im = ax.imshow(np.log10(np.maximum(grid, 1e-4)), aspect="auto", cmap="magma_r", vmin=-4, vmax=2)
        ax.set_yticks(range(len(layers)), [m["rtl_layer"] or m["layer"] for m in layers], fontsize=7)
        ax.set_xticks(range(width))
        ax.set_xlabel("bit position in the stored word (highest = sign/MSB)")
        ax.set_title(f"one SEU per memory and bit: share of decisions changed ({len(s['tiles'])} tiles)", fontsize=9)
        bar = fig.colorbar(im, ax=ax)
        bar.set_ticks([-4, -3, -2, -1, 0, 1, 2], labels=["<1e-4 %", "0.001 %", "0.01 %", "0.1 %", "1 %", "10 %", "100 %"])
        fig.tight_layout()
        with atomic_path(folder / "seu_layers.png") as tmp:
            fig.savefig(tmp, dpi=110)
        written.append("seu_layers.png")
    b = report.get("ber")
    if b and b["rows"]:
        fig = Figure(figsize=(8, 3.4))
        ax1, ax2 = fig.subplots(1, 2)
        groups = _group_ber(b)
        for prot, style in (("none", "o-"), ("tmr", "s--")):
            rates = sorted({r for r, p in groups if p == prot})
            label = "unprotected" if prot == "none" else f"TMR on {len(b['protected'])} memories"
            ax1.plot(rates, [np.mean([r["f1"] for r in groups[(x, prot)]]) for x in rates], style, label=label)
            ax2.plot(rates, [100 * np.mean([r["flipped_fraction"] for r in groups[(x, prot)]]) for x in rates], style,
                     label=label)
        ax1.axhline(b["f1_clean"], color="gray", lw=0.8, label="fault-free")
        for ax, what in ((ax1, "F1"), (ax2, "decisions changed (%)")):
            ax.set_xscale("log")
            ax.set_xlabel("bit error rate of every stored bit")
            ax.set_ylabel(what)
            ax.legend(fontsize=7)
        from matplotlib.ticker import FuncFormatter, LogLocator

        changed = [r["flipped_fraction"] for r in b["rows"]]
        if min(changed) > 0:
            ax2.set_yscale("log")
            ax2.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax2.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        fig.tight_layout()
        with atomic_path(folder / "seu_ber.png") as tmp:
            fig.savefig(tmp, dpi=110)
        written.append("seu_ber.png")
    return written


def campaign(build_dir: str | Path, data: str | Path, out: str | Path | None = None, list_file: str | None = None,
             limit: int | None = 4, layers: list[str] | None = None, bits: list[int] | None = None, trials: int = 1,
             flips: int = 1, rates: list[float] = (), rate_trials: int = 3, protect: int = 4,
             protect_kind: str | None = None, seed: int = 0, log=None) -> dict:
    """`frd-q seu`: sensitivity table, bit-error-rate sweep with and without TMR, report and plots in `out`."""
    import hashlib

    from frd_q.fsutil import write_json, write_text

    start = time.time()
    model = SeuModel(build_dir)
    out = Path(out) if out else model.build / "seu"
    memories = [model.memory(n) for n in layers] if layers else None
    tiles = load_tiles(model, data, list_file, limit)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"data": str(data), "list": list_file, "limit": limit, "bits": bits, "trials": trials, "flips": flips,
                "seed": seed, "tiles": [t.key for t in tiles]}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    journal = out / f"sensitivity-{key}.jsonl"
    table = sensitivity(model, tiles, memories, bits, trials, flips, seed, journal, log)
    report = {"build": str(model.build), "data": str(data), "sensitivity": table,
              "settings": settings | {"rates": list(rates), "rate_trials": rate_trials, "protect": protect,
                                      "protect_kind": protect_kind}}
    if rates:
        chosen = top_memories(table, protect, protect_kind) if protect else []
        report["ber"] = ber_sweep(model, tiles, list(rates), rate_trials, chosen, seed, log)
    report["plots"] = plot(report, out)
    report["seconds"] = round(time.time() - start, 1)
    write_json(out / "seu.json", report)
    write_text(out / "seu.md", markdown(report))
    return report
