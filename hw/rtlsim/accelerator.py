"""RTL simulation of a flows/build.py accelerator with Verilator: whole chains, or one layer at a time.

    acc = Accelerator("build/ZCU104")              # reads intermediate/*_codegen.onnx and hdl/
    ref = acc.reference(partition, context)        # {codegen tensor: value} from the python execution
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
from hw.buildfolder import BuildFolder
from hw.graph import base_op, streamed_inputs
from hw.rtlsim import verilator
from hw.rtlsim.pack import pack, unpack, words_per_beat
from hw.rtlsim.rtllib import prepare_rtllib
from hw.rtlsim.stitch import Layer, TopPorts, rtl_layers, write_top

PASS_THROUGH = ("StreamingFIFO", "StreamingDataWidthConverter")
HOLE = "\0"  # stands for the node name while a layer's sources are compared by content
_INIT_FILE = re.compile(r'(parameter\s+INIT_FILE\s*=\s*)"[^"]*"')


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


def _stream(inst, direction: str, index: int = 0) -> Stream:
    if direction == "in":
        dt = inst.get_input_datatype(index)
        return Stream(tuple(inst.get_normal_input_shape(index)), tuple(inst.get_folded_input_shape(index)),
                      dt.bitwidth(), dt.signed(), inst.get_instream_width_padded(index))
    dt = inst.get_output_datatype(index)
    return Stream(tuple(inst.get_normal_output_shape(index)), tuple(inst.get_folded_output_shape(index)), dt.bitwidth(),
                  dt.signed(), inst.get_outstream_width_padded(index))


class Accelerator:
    def __init__(self, build_dir: str | Path, cache: str | Path | None = None, log=None, model=None):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.custom_op.registry import getCustomOp

        import finn.custom_op.fpgadataflow  # noqa: F401
        from hw.rtl_ops import register

        register()

        # absolute: Verilator and the simulator run in their own folders, so a relative --build path would not resolve
        self.folder = BuildFolder(Path(build_dir).resolve(), must_exist=False)
        self.build = self.folder.path
        self.log = log
        self.model = model if model is not None else ModelWrapper(str(self.folder.generated_model()))
        self.nodes = {n.name: n for n in self.model.graph.node}
        self.insts = {n.name: getCustomOp(n) for n in self.model.graph.node}
        self.layers: dict[str, Layer] = rtl_layers(self.model, self.folder.hdl)
        self.sim_dir = self.folder.sim
        self.cache = Path(cache).resolve() if cache is not None else self.folder.sim_cache
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
        return nxt if len(streamed_inputs(self.model, nxt)) == 1 else None

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

    def reference(self, partition, context: dict) -> dict[str, np.ndarray]:
        """{codegen tensor: value, in stream order} from the python execution `context` of the partition model
        `partition` (FIFOs and width converters pass their input through)."""
        hw_nodes = list(partition.graph.node)
        compute = self.compute_layers()
        if len(hw_nodes) != len(compute):
            raise ConfigError(f"{self.build}: partition model has {len(hw_nodes)} layers, codegen graph "
                              f"{len(compute)} compute layers: the build's intermediate models do not belong together")
        produced: dict[str, np.ndarray] = {}  # codegen tensor name -> value
        for inp, hw_inp in zip(self.model.graph.input, partition.graph.input):
            produced[inp.name] = context[hw_inp.name]
        pairs = dict(zip(compute, hw_nodes))
        for node in self.model.graph.node:
            if node.name in pairs:
                hw = pairs[node.name]
                if hw.op_type != base_op(node.op_type):
                    raise ConfigError(f"{node.name} ({node.op_type}) does not match partition layer {hw.name} "
                                      f"({hw.op_type})")
                for o, hw_o in zip(node.output, hw.output):
                    produced[o] = self.stream_order(node.name, context[hw_o])
            else:  # FIFO / width converter: the stream passes unchanged
                produced[node.output[0]] = produced[node.input[0]]
        return produced

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
        """The layers with content-named modules, instances named L0, L1, ... by position, and the data files they
        read under those names.

        Generated sources differ between layers only by the node name (module names, threshold file prefix) and the
        absolute INIT_FILE default of a memstream (overridden per instance in the top anyway). Each layer's module is
        renamed M<hash of its sources with the name taken out, and of its threshold files>: the two dates' twin
        layers of a Siamese student, or two FIFOs of the same width and depth, become one module, compiled once
        (and twin chains share one simulator). Weights stay per instance (L<k>_memblock.dat). Sources are stored by
        content under sim/src/."""
        layers, data = [], {}
        for k, name in enumerate(names):
            layer, inst = self.layers[name], f"L{k}"
            rename = re.compile(rf"\b{re.escape(name)}(?![0-9])")
            texts = [(rename.sub(HOLE, src.name), _INIT_FILE.sub(r'\1"memblock.dat"', rename.sub(HOLE, src.read_text())))
                     for src in layer.sources]
            fixed = sorted((rename.sub(HOLE, d.name), d.read_bytes()) for d in layer.data_files if d.name != "memblock.dat")
            key = hashlib.sha256(repr((texts, fixed)).encode()).hexdigest()[:12]
            module = f"M{key}"
            sources = []
            for file_name, text in texts:
                text = text.replace(HOLE, module)
                path = self.sim_dir / "src" / hashlib.sha256(text.encode()).hexdigest()[:16] / file_name.replace(HOLE, module)
                if not path.is_file():
                    write_text(path, text)
                sources.append(path)
            for d in layer.data_files:
                data[f"{inst}_memblock.dat" if d.name == "memblock.dat" else rename.sub(module, d.name)] = d
            layers.append(replace(
                layer, name=inst, module=module, sources=sources,
                weight_module=f"{module}_memstream_wrapper" if layer.weight_module else None,
                weight_init=f"{inst}_memblock.dat" if layer.weight_init else None))
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

    def hls_layers(self) -> list[str]:
        return [n.name for n in self.model.graph.node if n.name not in self.layers]

    def open_streams(self, names: list[str]) -> tuple[list[str], list[str]]:
        """The tensors entering and leaving the layers `names`, in the order of their top's ports: the graph's
        inputs and outputs for the whole graph, else in layer order."""
        if set(names) == set(self.nodes):
            return [i.name for i in self.model.graph.input], [o.name for o in self.model.graph.output]
        layers = [self.layers[n] for n in names]
        produced = {t for layer in layers for t in layer.outputs}
        consumed = {t for layer in layers for t in layer.inputs}
        return ([t for layer in layers for t in layer.inputs if t not in produced],
                [t for layer in layers for t in layer.outputs if t not in consumed])

    def compile(self, names: list[str], probe: bool = False) -> tuple[Path, Path, list[Stream], list[Stream], TopPorts]:
        """(simulator, run folder with its data files, input streams, output streams, top ports) of the layers
        `names`, wired as the graph wires them; the whole graph's top ports follow the graph's inputs and outputs."""
        layers, data = self._canonical(names)
        lib = self._prepare()
        whole = set(names) == set(self.nodes)
        top_in, top_out = self.open_streams(names)
        text_key = hashlib.sha256("".join(p.read_text() for layer in layers for p in layer.sources).encode())
        text_key.update(f"{names if whole else ''}{probe}".encode())
        top = self.sim_dir / "tops" / f"{text_key.hexdigest()[:16]}.sv"
        ports = write_top(layers, top, inputs=top_in, outputs=top_out, probe=probe)
        sources = list(lib)
        for layer in layers:
            sources += [s for s in layer.sources if s not in sources]
        by_input = {t: (name, k) for name, layer in zip(names, layers) for k, t in enumerate(layer.inputs)}
        by_output = {t: (name, j) for name, layer in zip(names, layers) for j, t in enumerate(layer.outputs)}
        ins = [_stream(self.insts[by_input[t][0]], "in", by_input[t][1]) for t in top_in]
        outs = [_stream(self.insts[by_output[t][0]], "out", by_output[t][1]) for t in top_out]
        exe = verilator.compile_top(sources, top, ports, self.cache, log=self.log)
        return exe, self._stage_data(names, data), ins, outs, ports

    def run(self, names: list[str], frames: list[list[np.ndarray]], in_stall: float = 0.0, out_stall: float = 0.0,
            seed: int = 1, probe: bool = False, allow_stall: bool = False, max_cycles: int | None = None,
            limits: dict[str, int] | None = None, idle: int | None = None,
            pace: float = 0.0) -> tuple[list[list[np.ndarray]], dict]:
        """Stream `frames` (each: one tensor per input stream of `names`) through the layers `names`; returns (per
        frame: one tensor per output stream, stats). stats["probe"] maps FIFO layers to their maximum occupancy
        when `probe` is set, and `limits` ({FIFO layer: depth}) caps those FIFOs' occupancy (the others keep their
        generated depth); with `allow_stall` a deadlock returns ([], stats with error "stalled"). A run counts as
        stalled after `idle` cycles without a handshake (default: twice the slowest layer's cycles per frame).
        `pace` > 0 offers the n-th beat of every input no earlier than cycle n * pace."""
        probe = probe or limits is not None
        exe, run_dir, ins, outs, ports = self.compile(names, probe)
        caps = None
        if limits is not None:
            by_inst = {f"L{k}": name for k, name in enumerate(names)}
            caps = [int(limits.get(by_inst[p], 2**32 - 1)) for p in ports.probe]
        beats = [np.concatenate([s.to_beats(frame[k]) for frame in frames]) for k, s in enumerate(ins)]
        want = [verilator.Out(s.beats * len(frames), words_per_beat(s.stream_bits), s.beats) for s in outs]
        if idle is None:  # a healthy design hands a beat over far more often than this
            idle = 2 * self.expected_cycles(names) + 100_000
        got, stats = verilator.run(exe, run_dir, beats, want, in_stall, out_stall, seed, cache=self.cache,
                                   allow_stall=allow_stall, max_cycles=max_cycles, idle=idle, limits=caps, pace=pace)
        if probe:  # the top names its layers L<k> by position
            stats["probe"] = {names[int(p[1:])]: v for p, v in zip(ports.probe, stats["probe"])}
        if not got:
            return [], stats
        per_port = [np.split(g, len(frames)) for g in got]
        return [[s.from_beats(per_port[k][f]) for k, s in enumerate(outs)] for f in range(len(frames))], stats

    def simulate(self, names: list[str], inputs: list[np.ndarray], in_stall: float = 0.0, out_stall: float = 0.0,
                 seed: int = 1) -> tuple[list[np.ndarray], dict]:
        """Stream the input tensors (one frame each) through the one-input, one-output run of layers `names`;
        returns (output tensors, stats)."""
        frames, stats = self.run(names, [[x] for x in inputs], in_stall, out_stall, seed)
        return [f[0] for f in frames], stats

    def check(self, names: list[str], tensors: dict[str, np.ndarray], in_stall: float = 0.0, out_stall: float = 0.0,
              seed: int = 1) -> dict:
        """The layers `names` fed their python-execution inputs (`tensors`, from `reference`), every output compared
        with the python execution: {mismatches, elements, outputs (tensor: simulated value), stats}."""
        ins, outs = self.open_streams(names)
        frames, stats = self.run(names, [[tensors[t] for t in ins]], in_stall, out_stall, seed)
        got = dict(zip(outs, frames[0]))
        bad = sum(int((g != tensors[t].reshape(g.shape)).sum()) for t, g in got.items())
        return {"mismatches": bad, "elements": sum(g.size for g in got.values()), "outputs": got, "stats": stats}

    def simulate_graph(self, frames: list[list[np.ndarray]], in_stall: float = 0.0, out_stall: float = 0.0,
                       seed: int = 1, **kw) -> tuple[list[list[np.ndarray]], dict]:
        """The whole accelerator (every layer RTL) on `frames`, each one tensor per graph input, in graph order."""
        hls = self.hls_layers()
        if hls:
            raise ConfigError(f"{self.build}: {len(hls)} layers have no RTL ({', '.join(hls[:4])}...): "
                              "the accelerator cannot be simulated end to end")
        return self.run(list(self.nodes), frames, in_stall, out_stall, seed, **kw)

    def expected_cycles(self, names: list[str] | None = None) -> int:
        """FINN's estimate of the cycles per frame of a chain (or the whole graph): its slowest layer."""
        names = names or list(self.nodes)
        return int(max(self.insts[n].get_exp_cycles() for n in names))
