"""RTL simulation of a flows/build.py accelerator with Verilator: whole chains, or one layer at a time.

    acc = Accelerator("build/ZCU104")              # reads intermediate/*_codegen.onnx and hdl/
    ref = acc.reference(partition, context)        # per-node (input, output) from the python execution
    out, stats = acc.simulate(acc.chains()[0], [x])  # a straight run of RTL layers, one frame per input tensor

The code-generated graph holds every layer FINN will put on the chip, including the FIFOs and width converters
inserted at codegen, each with its generated wrapper under hdl/<node>/. `chains()` cuts the graph into maximal
straight runs of RTL layers: an all-RTL accelerator is one chain (simulated end to end); a graph with forks or
HLS-only layers (DuplicateStreams, concat, |A-B|, max-pool, upsample) becomes several chains, each fed with the
tensor the python execution of the hardware-layer graph computes at its entry.

Reference tensors come from the dataflow partition model (python-executable HW layers, before backends were
chosen). Its compute layers match the codegen graph's non-FIFO, non-width-converter layers one to one, in order;
FIFOs and width converters pass their input through unchanged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.fsutil import write_bytes, write_text
from sim import verilator
from sim.pack import pack, unpack, words_per_beat
from sim.rtllib import prepare_rtllib
from sim.stitch import Layer, rtl_layers, write_top

PASS_THROUGH = ("StreamingFIFO", "StreamingDataWidthConverter")
_INIT_FILE = re.compile(r'(parameter\s+INIT_FILE\s*=\s*)"[^"]*"')


def latest(build_dir: Path, step: str) -> Path:
    found = sorted((build_dir / "intermediate").glob(f"*_{step}.onnx"))
    if not found:
        raise ConfigError(f"{build_dir}: no {step} model (run flows/build.py through the {step} step)")
    return found[-1]


@dataclass
class Stream:
    """How one layer boundary is streamed: folded shape, element bits, signedness, padded stream width."""

    normal: tuple
    folded: tuple
    bits: int
    signed: bool
    stream_bits: int

    @property
    def beats(self) -> int:
        return int(np.prod(self.folded[:-1]))

    def to_beats(self, x: np.ndarray) -> np.ndarray:
        return pack(np.asarray(x).reshape(-1, self.folded[-1]), self.bits, self.stream_bits)

    def from_beats(self, words: np.ndarray) -> np.ndarray:
        return unpack(words, self.folded[-1], self.bits, self.signed).reshape(self.normal)


def _stream(inst, direction: str) -> Stream:
    if direction == "in":
        dt = inst.get_input_datatype(0)
        return Stream(tuple(inst.get_normal_input_shape(0)), tuple(inst.get_folded_input_shape(0)), dt.bitwidth(),
                      dt.signed(), inst.get_instream_width_padded(0))
    dt = inst.get_output_datatype(0)
    return Stream(tuple(inst.get_normal_output_shape(0)), tuple(inst.get_folded_output_shape(0)), dt.bitwidth(),
                  dt.signed(), inst.get_outstream_width_padded(0))


class Accelerator:
    def __init__(self, build_dir: str | Path, cache: str | Path | None = None, log=None):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.custom_op.registry import getCustomOp

        import finn.custom_op.fpgadataflow  # noqa: F401

        self.build = Path(build_dir)
        self.log = log
        self.model = ModelWrapper(str(latest(self.build, "codegen")))
        self.nodes = {n.name: n for n in self.model.graph.node}
        self.insts = {n.name: getCustomOp(n) for n in self.model.graph.node}
        self.layers: dict[str, Layer] = rtl_layers(self.model, self.build / "hdl")
        self.sim_dir = self.build / "sim"
        self.cache = Path(cache) if cache is not None else self.sim_dir / "cache"
        self.run_dir = self.sim_dir / "run"
        self._lib = None

    # -- graph structure -------------------------------------------------------------------------------------
    def _consumers(self, node) -> list:
        return [c for o in node.output for c in self.model.find_consumers(o) or []]

    def _next(self, node):
        """The RTL layer that alone consumes `node`'s only output and takes no other stream, or None."""
        consumers = self._consumers(node)
        if len(node.output) != 1 or len(consumers) != 1 or consumers[0].name not in self.layers:
            return None
        nxt = consumers[0]
        dynamic = [i for i in nxt.input if self.model.get_initializer(i) is None]
        return nxt if len(dynamic) == 1 else None

    def chains(self) -> list[list[str]]:
        """Maximal straight runs of RTL layers (node names), following the graph's edges, in graph order."""
        followed = {}
        for node in self.model.graph.node:
            if node.name in self.layers:
                nxt = self._next(node)
                if nxt is not None:
                    followed[nxt.name] = node.name
        chains = []
        for node in self.model.graph.node:
            if node.name not in self.layers or node.name in followed:
                continue
            chain = [node.name]
            nxt = self._next(node)
            while nxt is not None:
                chain.append(nxt.name)
                nxt = self._next(nxt)
            chains.append(chain)
        return chains

    def compute_layers(self) -> list[str]:
        return [n.name for n in self.model.graph.node if not n.op_type.startswith(PASS_THROUGH)]

    def reference(self, partition, context: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{codegen node: (input, output)} from the python execution `context` of the partition model `partition`."""
        hw_nodes = list(partition.graph.node)
        compute = self.compute_layers()
        if len(hw_nodes) != len(compute):
            raise ConfigError(f"{self.build}: partition model has {len(hw_nodes)} layers, codegen graph "
                              f"{len(compute)} compute layers: the build's intermediate models do not belong together")
        produced: dict[str, np.ndarray] = {}  # codegen tensor name -> value
        for inp, hw_inp in zip(self.model.graph.input, partition.graph.input):
            produced[inp.name] = context[hw_inp.name]
        pairs = dict(zip(compute, hw_nodes))
        ref = {}
        for node in self.model.graph.node:
            if node.name in pairs:
                hw = pairs[node.name]
                base = node.op_type[: -len("_rtl")] if node.op_type.endswith("_rtl") else node.op_type
                base = base[: -len("_hls")] if base.endswith("_hls") else base
                if hw.op_type != base:
                    raise ConfigError(f"{node.name} ({node.op_type}) does not match partition layer {hw.name} "
                                      f"({hw.op_type})")
                for o, hw_o in zip(node.output, hw.output):
                    produced[o] = self.stream_order(node.name, context[hw_o])
                ref[node.name] = (produced[node.input[0]], produced[node.output[0]])
            else:  # FIFO / width converter: the stream passes unchanged
                produced[node.output[0]] = produced[node.input[0]]
                ref[node.name] = (produced[node.input[0]], produced[node.input[0]])
        return ref

    def stream_order(self, name: str, x: np.ndarray) -> np.ndarray:
        """The python execution's output of layer `name`, its elements reordered as the layer streams them.

        Only depthwise sliding windows differ: FINN's python execution gives (.., K_H, K_W, C) per output pixel,
        the RTL streams (.., C/SIMD, K_H, K_W, SIMD) (documented in FINN's convolutioninputgenerator_rtl.py);
        the consumers (VVAU, Pool) expect that order."""
        inst = self.insts[name]
        if not self.nodes[name].op_type.startswith("ConvolutionInputGenerator") or not inst.get_nodeattr("depthwise"):
            return x
        kh, kw = inst.get_nodeattr("ConvKernelDim")
        c, simd = inst.get_nodeattr("IFMChannels"), inst.get_nodeattr("SIMD")
        lead = x.shape[:-1]
        y = x.reshape(*lead, kh, kw, c // simd, simd)
        n = len(lead)
        y = y.transpose(*range(n), n + 2, n, n + 1, n + 3)
        return np.ascontiguousarray(y).reshape(x.shape)

    # -- simulation -------------------------------------------------------------------------------------------
    def _prepare(self) -> list[Path]:
        if self._lib is None:
            self._lib = prepare_rtllib(self.sim_dir / "rtllib")
            self.run_dir.mkdir(parents=True, exist_ok=True)
        return self._lib

    def _canonical(self, names: list[str]) -> tuple[list[Layer], dict[str, Path]]:
        """The chain's layers renamed L0, L1, ... in their sources, with the data files they read under those names.

        Generated sources differ between layers only by the node name (module names, threshold file prefix) and the
        absolute INIT_FILE default of a memstream (overridden in the top anyway). Renamed, the two dates' twin
        chains of a Siamese student, or two FIFOs of the same width and depth, have the same text and share one
        compiled simulator. Sources are stored by content under sim/src/."""
        layers, data = [], {}
        for k, name in enumerate(names):
            layer, canon = self.layers[name], f"L{k}"
            rename = re.compile(rf"\b{re.escape(name)}(?![0-9])")
            sources = []
            for src in layer.sources:
                text = _INIT_FILE.sub(r'\1"memblock.dat"', rename.sub(canon, src.read_text()))
                path = self.sim_dir / "src" / hashlib.sha256(text.encode()).hexdigest()[:16] / rename.sub(canon, src.name)
                if not path.is_file():
                    write_text(path, text)
                sources.append(path)
            for d in layer.data_files:
                data[f"{canon}_memblock.dat" if d.name == "memblock.dat" else rename.sub(canon, d.name)] = d
            layers.append(replace(
                layer, name=canon, module=canon, sources=sources,
                weight_module=f"{canon}_memstream_wrapper" if layer.weight_module else None,
                weight_init=f"{canon}_memblock.dat" if layer.weight_init else None))
        return layers, data

    def _stage_data(self, names: list[str], wanted: dict[str, Path]) -> Path:
        """A run folder holding exactly the .dat files a chain reads (so result caching sees all of them)."""
        folder = self.run_dir / hashlib.sha256(",".join(names).encode()).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.dat"):
            if old.name not in wanted:
                old.unlink()
        for name, src in wanted.items():
            dst = folder / name
            data = src.read_bytes()
            if not dst.is_file() or dst.read_bytes() != data:
                write_bytes(dst, data)
        return folder

    def compile(self, names: list[str]) -> tuple[Path, Path, Stream, Stream]:
        """(simulator, run folder with its data files, input stream, output stream) of the chain `names`."""
        layers, data = self._canonical(names)
        lib = self._prepare()
        text_key = hashlib.sha256("".join(p.read_text() for layer in layers for p in layer.sources).encode())
        top = write_top(layers, self.sim_dir / "tops" / f"{text_key.hexdigest()[:16]}.sv")
        sources = list(lib)
        for layer in layers:
            sources += [s for s in layer.sources if s not in sources]
        first, last = _stream(self.insts[names[0]], "in"), _stream(self.insts[names[-1]], "out")
        exe = verilator.compile_top(sources, top, first.stream_bits, last.stream_bits, self.cache, log=self.log)
        return exe, self._stage_data(names, data), first, last

    def simulate(self, names: list[str], inputs: list[np.ndarray], in_stall: float = 0.0, out_stall: float = 0.0,
                 seed: int = 1) -> tuple[list[np.ndarray], dict]:
        """Stream the input tensors (one frame each) through the chain `names`; returns (output tensors, stats)."""
        exe, run_dir, first, last = self.compile(names)
        beats = np.concatenate([first.to_beats(x) for x in inputs])
        out, stats = verilator.run(exe, run_dir, beats, last.beats * len(inputs), words_per_beat(last.stream_bits),
                                   last.beats, in_stall, out_stall, seed, cache=self.cache)
        frames = np.split(out, len(inputs))
        return [last.from_beats(f) for f in frames], stats

    def expected_cycles(self, names: list[str] | None = None) -> int:
        """FINN's estimate of the cycles per frame of a chain (or the whole graph): its slowest layer."""
        names = names or list(self.nodes)
        return int(max(self.insts[n].get_exp_cycles() for n in names))
