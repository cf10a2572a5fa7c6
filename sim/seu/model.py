"""The fault model: the accelerator's stored memories, their words, a bit flip, and the graph run with faulty words.

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
context of the tile (`SeuModel.run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
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


def flip(words: np.ndarray, positions: np.ndarray, bit: int) -> np.ndarray:
    out = words.copy().reshape(-1)
    out[positions] ^= np.uint64(1 << bit)
    return out.reshape(words.shape)


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
        with finn_session(self.runner.folder.finn_tmp):
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
        with finn_session(self.runner.folder.finn_tmp):
            for node in self.graph.graph.node[start:]:
                if node.name in searched:
                    ctx[node.output[0]] = search_threshold(ctx[node.input[0]], ctx[node.input[1]], self.act_val[node.name])
                else:
                    execute_node(node, ctx, self.graph.graph, opsets.get(node.domain, get_preferred_qonnx_opset()))
        return ctx[self.runner.output]

    def decisions(self, acc: np.ndarray) -> np.ndarray:
        from frd_q.export.reference import head_logits

        return head_logits(self.runner.model, acc, (self.runner.tile, self.runner.tile))[0] > 0
