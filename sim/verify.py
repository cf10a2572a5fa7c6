"""Bit-accuracy from PyTorch to RTL: the same real tiles through every level of a build, integers compared.

    report = verify("build/ZCU104", "../shared/data/real_cd")
    print(markdown(report))

Levels, each reduced to the integers the accelerator streams out (the head's accumulators, NHWC):

  torch        the Brevitas student of the build (model.pt, tie-free weights): frd_q.export.head_accumulators
  qonnx        the exported QONNX graph (intermediate/*_export.onnx), executed; the head Conv's output divided
               by its input and weight quantizer scales
  streamlined  the streamlined FINN graph, executed; the tensor before the float tail (Transpose/Mul/Add)
  hw           the hardware-layer graph (dataflow partition), executed in Python
  rtl          Verilator simulation of the generated RTL. An all-RTL accelerator runs end to end from the raw
               pixels; otherwise every straight chain of RTL layers runs on the tensor the python execution feeds
               it (layers without an RTL backend are counted under `python_only`).

Every level is compared with torch on every tile. The first tile on which a level differs from the level above
it is bisected (sim.bisect): the report names the first layer that differs, its largest difference and whether
it is a rounding tie. `frd-q verify` and flows/verify.py are the command-line twins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from frd_q.config import DataSource
from frd_q.data.dataset import iter_tiles, load_pairs, scan_root
from frd_q.errors import ConfigError
from frd_q.export.qonnx import graph_feed
from frd_q.export.reference import head_accumulators
from frd_q.train.checkpoint import load_model
from hw.buildfolder import BuildFolder
from hw.execute import execute
from hw.fifo_sizing import why_not_end_to_end
from hw.finn_env import finn_session
from hw.rtlsim.accelerator import Accelerator
from sim.bisect import first_graph_difference, first_quant_difference, first_rtl_difference


class Level(str, Enum):
    """A level of the chain from PyTorch to RTL, top to bottom."""

    TORCH = "torch"
    QONNX = "qonnx"
    STREAMLINED = "streamlined"
    HW = "hw"
    RTL = "rtl"

    def __str__(self) -> str:
        return self.value

    @property
    def title(self) -> str:
        return TITLES[self]

    @classmethod
    def parse(cls, names) -> list[Level]:
        """The levels named (strings or Levels), in chain order; unknown names are one ConfigError."""
        names = [str(n) for n in names]
        unknown = sorted(n for n in names if n not in {lv.value for lv in cls})
        if unknown:
            raise ConfigError(f"unknown levels {unknown}; choose from {', '.join(lv.value for lv in cls)}")
        return [lv for lv in cls if lv.value in names]


LEVELS = tuple(Level)
TITLES = {
    Level.TORCH: "PyTorch/Brevitas student (integer head accumulators)",
    Level.QONNX: "QONNX execution",
    Level.STREAMLINED: "FINN streamlined graph",
    Level.HW: "FINN hardware-layer graph (python execution)",
    Level.RTL: "RTL simulation (Verilator)",
}


@dataclass
class LevelResult:
    level: str
    tiles: int = 0
    elements: int = 0
    mismatches: int = 0
    first_tile: str | None = None
    first_layer: dict | None = None
    notes: list = field(default_factory=list)


def qonnx_integers(graph, ctx: dict) -> np.ndarray:
    """Head accumulators from an executed QONNX graph: the last Conv's output over its quantizer scales."""
    conv = [n for n in graph.graph.node if n.op_type == "Conv"][-1]
    scales = []
    for name in conv.input[:2]:
        quant = graph.find_producer(name)
        if quant is None or quant.op_type != "Quant":
            raise ConfigError(f"QONNX head {conv.name}: input {name} does not come from a Quant node")
        scales.append(np.asarray(graph.get_initializer(quant.input[1]), dtype=np.float64))
    s_act, s_w = scales
    acc = ctx[conv.output[0]].astype(np.float64) / (s_act.reshape(-1)[0] * s_w.reshape(1, -1, 1, 1))
    return _to_int(acc.transpose(0, 2, 3, 1), f"QONNX {conv.name}")


def streamlined_integers(graph, ctx: dict) -> np.ndarray:
    """The tensor before the float tail: walk back from the output through Transpose / Mul / Add."""
    name = graph.graph.output[0].name
    node = graph.find_producer(name)
    while node is not None and node.op_type in ("Transpose", "Mul", "Add"):
        name = [i for i in node.input if graph.get_initializer(i) is None][0]
        node = graph.find_producer(name)
    return _to_int(ctx[name], f"streamlined tensor {name}")


def _to_int(x: np.ndarray, what: str) -> np.ndarray:
    r = np.round(x)
    err = np.abs(x - r).max() if x.size else 0.0
    if err > 1e-2:
        raise ConfigError(f"{what} is not an integer tensor (max distance to an integer {err:.3g})")
    return r.astype(np.int64)


class Verifier:
    """Holds a build's graphs, reference model and simulator; `tile(a, b)` returns every level's integers."""

    def __init__(self, build_dir: str | Path, levels=LEVELS, in_stall: float = 0.0, out_stall: float = 0.0,
                 cache: str | Path | None = None, log=None):
        from qonnx.core.modelwrapper import ModelWrapper

        self.folder = BuildFolder(build_dir)
        self.build = self.folder.path
        self.levels = Level.parse(levels)
        self.summary = self.folder.summary
        self.tile_size = self.summary.tile
        self.model, _, _ = load_model(self.summary.hw_checkpoint)
        self.graphs = {}
        if "qonnx" in self.levels:
            self.graphs["qonnx"] = ModelWrapper(str(self.folder.model("export")))
        if "streamlined" in self.levels or "hw" in self.levels:
            self.graphs["streamlined"] = ModelWrapper(str(self.folder.model("streamline")))
        self.graphs["hw"] = ModelWrapper(str(self.folder.partition_model()))  # also the RTL level's reference
        self.acc = None
        if "rtl" in self.levels:
            self.acc = Accelerator(self.build, cache=cache, log=log)
            self.chains = self.acc.chains()
            self.end_to_end = why_not_end_to_end(self.acc) is None  # the whole graph runs as one top
            self.hw_nodes = dict(zip(self.acc.compute_layers(), self.graphs["hw"].graph.node))
        self.stall = (in_stall, out_stall)

    def _execute(self, level: str, a: np.ndarray, b: np.ndarray) -> dict:
        g = self.graphs[level]
        return execute(g, graph_feed(g, a, b), keep_all=True)

    def tile(self, a: np.ndarray, b: np.ndarray) -> tuple[dict, dict]:
        """({level: integers}, {level: execution context or rtl details, "pixels": (a, b)}) for one tile.

        The streamlined graph runs for its own level only; bisecting the hw level executes it on demand."""
        ints, ctxs = {"torch": head_accumulators(self.model, a, b)}, {"pixels": (a, b)}
        if "qonnx" in self.levels:
            ctxs["qonnx"] = self._execute("qonnx", a, b)
            ints["qonnx"] = qonnx_integers(self.graphs["qonnx"], ctxs["qonnx"])
        if "streamlined" in self.levels:
            ctxs["streamlined"] = self._execute("streamlined", a, b)
            ints["streamlined"] = streamlined_integers(self.graphs["streamlined"], ctxs["streamlined"])
        if "hw" in self.levels or self.acc is not None:  # the RTL chains are fed from the python execution
            g = self.graphs["hw"]
            ctxs["hw"] = self._execute("hw", a, b)
            if "hw" in self.levels:
                ints["hw"] = ctxs["hw"][g.graph.output[0].name].astype(np.int64)
        if self.acc is not None:
            ints["rtl"], ctxs["rtl"] = self._rtl(a, b, ctxs["hw"])
        return ints, ctxs

    def _rtl(self, a, b, hw_ctx) -> tuple[np.ndarray, dict]:
        ref = self.acc.reference(self.graphs["hw"], hw_ctx)
        details = {"ref": ref, "chains": {}}
        final = self.acc.model.graph.output[0].name
        if self.end_to_end:  # the real thing: pixels in (both dates of a Siamese student), accumulators out
            x = list(graph_feed(self.graphs["hw"], a, b).values())
            ((out,),), stats = self.acc.simulate_graph([x], *self.stall)
            bad = int((out != ref[final].reshape(out.shape)).sum())
            details["end_to_end"] = {"mismatches": bad, "stats": stats}
            return out.astype(np.int64), details
        out = None
        for i, chain in enumerate(self.chains):
            found = self.acc.check(chain, ref, *self.stall)
            details["chains"][i] = {k: found[k] for k in ("mismatches", "elements", "stats")}
            out = found["outputs"].get(final, out)
        if out is None:  # the output layer has no RTL backend: the level ends in python
            out = hw_ctx[self.graphs["hw"].graph.output[0].name]
        return out.astype(np.int64), details

    def bisect(self, level: str, ctxs: dict) -> dict | None:
        if level == "rtl":
            ref = ctxs["rtl"]["ref"]
            for i, chain in enumerate(self.chains):
                if self.end_to_end:  # find the chain that differs when fed the python execution's tensors
                    if not self.acc.check(chain, ref, *self.stall)["mismatches"]:
                        continue
                elif not ctxs["rtl"]["chains"][i]["mismatches"]:
                    continue
                return first_rtl_difference(self.acc, chain, ref, self.graphs["hw"], self.hw_nodes)
            return None
        if level == "hw":
            streamlined = ctxs.get("streamlined") or self._execute("streamlined", *ctxs["pixels"])
            return first_graph_difference(self.graphs["streamlined"], streamlined, self.graphs["hw"], ctxs["hw"],
                                          integer_inputs=True)
        if level == "streamlined" and "qonnx" in ctxs:
            return first_quant_difference(self.graphs["qonnx"], ctxs["qonnx"], self.graphs["streamlined"],
                                          ctxs["streamlined"])
        return None  # torch vs qonnx: compared on the output only

    def rtl_layers(self) -> dict:
        if self.acc is None:
            return {}
        simulated = list(self.acc.layers)
        return {"chains": len(self.chains), "rtl_layers": len(simulated),
                "python_only": [n for n in self.acc.nodes if n not in self.acc.layers],
                "end_to_end": self.end_to_end}


def verify(build_dir: str | Path, data: str | Path, list_file: str | None = None, limit: int | None = None,
           levels=LEVELS, in_stall: float = 0.0, out_stall: float = 0.0, cache: str | Path | None = None,
           log=None) -> dict:
    """Push every tile of `data` (or the first `limit`) through every level; returns the report (see markdown)."""
    t0 = time.time()
    build_dir = Path(build_dir)
    with finn_session(BuildFolder(build_dir).finn_tmp):
        v = Verifier(build_dir, levels, in_stall, out_stall, cache=cache, log=log)
        results = {lv: LevelResult(lv) for lv in v.levels}
        pairs = load_pairs(scan_root(DataSource(root=str(data), list=list_file)))
        n = 0
        for key, a, b in iter_tiles(pairs, v.tile_size):
            if limit is not None and n >= limit:
                break
            n += 1
            ints, ctxs = v.tile(a, b)
            ref = ints["torch"]
            line = []
            for i, lv in enumerate(v.levels):
                got = ints[lv]
                if got.shape != ref.shape:
                    raise ConfigError(f"{key}: level {lv} gives shape {got.shape}, torch {ref.shape}")
                bad, elements = int((got != ref).sum()), int(ref.size)
                if lv == "rtl" and not v.end_to_end:  # every chain's output against the python execution
                    bad = sum(c["mismatches"] for c in ctxs["rtl"]["chains"].values())
                    elements = sum(c["elements"] for c in ctxs["rtl"]["chains"].values())
                r = results[lv]
                r.tiles += 1
                r.elements += elements
                r.mismatches += bad
                line.append(f"{lv} {bad}")
                above = v.levels[i - 1] if i else None
                differs_from_above = above is not None and not np.array_equal(got, ints[above])
                extra_rtl = lv == "rtl" and any(c["mismatches"] for c in ctxs["rtl"]["chains"].values())
                if (differs_from_above or extra_rtl) and r.first_layer is None:
                    r.first_tile = r.first_tile or key
                    r.first_layer = v.bisect(lv, ctxs) or {"layer": None, "note": "not bisected at this level"}
                elif bad and r.first_tile is None:
                    r.first_tile = key
            if log:
                log(f"{key}: mismatches " + ", ".join(line))
        report = {
            "build": str(build_dir),
            "data": str(data),
            "tile": v.tile_size,
            "levels": [{**vars(results[lv]), "level": lv.value} for lv in v.levels],
            "rtl": v.rtl_layers(),
            "stall": {"in": in_stall, "out": out_stall},
            "wall_s": round(time.time() - t0, 1),
        }
    return report


def markdown(report: dict) -> str:
    rows = ["| level | tiles | output elements | mismatches | first mismatching layer |", "|---|---:|---:|---:|---|"]
    for r in report["levels"]:
        layer = r["first_layer"]
        if layer and layer.get("layer"):
            where = (f"{layer['layer']} ({layer['op_type']}): {layer['mismatches']} of {layer['elements']} differ, "
                     f"max |diff| {layer['max_abs_diff']:g}, {'rounding tie' if layer['tie'] else 'not a tie'}")
        elif layer:
            where = layer.get("note", "")
        else:
            where = "-"
        rows.append(f"| {r['level']}: {Level(r['level']).title} | {r['tiles']} | {r['elements']} | {r['mismatches']} | {where} |")
    out = "\n".join(rows) + "\n"
    rtl = report.get("rtl") or {}
    if rtl:
        mode = "end to end from the raw pixels, compared with torch" if rtl["end_to_end"] else (
            f"{rtl['chains']} chains of RTL layers, each fed by the python execution of the hardware-layer graph and "
            f"compared with it (the rtl row counts every chain's output elements); {len(rtl['python_only'])} "
            "layers without an RTL backend stay in python")
        out += f"\nRTL: {rtl['rtl_layers']} layers simulated with Verilator, {mode}.\n"
    return out
