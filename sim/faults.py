"""Deliberate faults in a build, to show that the verification chain catches them and names the layer.

    flip_weight_bit(build, "MVAU_rtl_2", word=0, bit=3)     # one bit of the weight memory the RTL reads
    shift_threshold(build, "Thresholding_rtl_1", channel=0)  # one RTL threshold off by one
    shift_hw_threshold(build, 1, channel=0)                  # one threshold of the hardware-layer graph (python)
    shift_streamlined_threshold(build, 1, channel=0)         # one threshold of the streamlined graph

Each edits the build in place (use it on a copy): the RTL faults change the $readmemh files under hdl/<layer>/,
which is what the simulated chip loads; the graph faults change the dataflow partition or streamlined model. All writes are
atomic. These are the single-event-upset kind of error (one stored bit or word wrong), not model changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from frd_q.errors import ConfigError
from frd_q.fsutil import atomic_path, write_text
from hw.buildfolder import BuildFolder


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"{path}: not found")
    return path.read_text().split()


def flip_weight_bit(build_dir: str | Path, layer: str, word: int = 0, bit: int = 0) -> dict:
    """Flip `bit` of memory word `word` in an MVAU's weight memory (hdl/<layer>/memblock.dat)."""
    path = BuildFolder(build_dir, must_exist=False).hdl / layer / "memblock.dat"
    words = _lines(path)
    if not 0 <= word < len(words):
        raise ConfigError(f"{path}: word {word} outside 0..{len(words) - 1}")
    digits = len(words[word])
    if not 0 <= bit < 4 * digits:
        raise ConfigError(f"{path}: bit {bit} outside the {4 * digits}-bit word")
    before = int(words[word], 16)
    words[word] = format(before ^ (1 << bit), f"0{digits}x")
    write_text(path, "\n".join(words) + "\n")
    return {"file": str(path), "word": word, "bit": bit, "before": format(before, f"0{digits}x"), "after": words[word]}


def threshold_slot(index: int, n: int) -> tuple[int, int]:
    """(stage, position) of sorted threshold `index` of n = 2^S - 1 in the RTL's binary-search memory.

    Thresholding_rtl stores each channel's thresholds as a search tree, one file per stage: stage 0 holds the
    middle one, stage s the 2^s thresholds at odd multiples of 2^(S-1-s) (1-based)."""
    depth = n.bit_length()
    if n != (1 << depth) - 1 or not 0 <= index < n:
        raise ConfigError(f"threshold {index} of {n}: only 2^S - 1 thresholds are laid out as a full search tree")
    k = index + 1
    trailing = (k & -k).bit_length() - 1
    stage = depth - 1 - trailing
    return stage, k >> (depth - stage)


def shift_threshold(build_dir: str | Path, layer: str, channel: int = 0, index: int | None = None,
                    delta: int = 1) -> dict:
    """Add `delta` to threshold `index` (sorted; default the middle one) of `channel` of an RTL Thresholding."""
    folder = BuildFolder(build_dir, must_exist=False).hdl / layer
    stages = sorted(folder.glob(f"{layer}_threshs_0_*.dat"))
    if not stages:
        raise ConfigError(f"{folder}: no {layer}_threshs_<pe>_<stage>.dat (is {layer} a Thresholding_rtl layer?)")
    pes = len(list(folder.glob(f"{layer}_threshs_*_0.dat")))
    n = (1 << len(stages)) - 1
    stage, pos = threshold_slot(n // 2 if index is None else index, n)
    path = folder / f"{layer}_threshs_{channel % pes}_{stage}.dat"
    values = _lines(path)
    row = (channel // pes) * (1 << stage) + pos
    if not 0 <= row < len(values):
        raise ConfigError(f"{path}: channel {channel} outside the layer's channels")
    digits = len(values[row])
    bits = 4 * digits
    before = int(values[row], 16)
    signed = before - (1 << bits) if before >= 1 << (bits - 1) else before
    values[row] = format((signed + delta) & ((1 << bits) - 1), f"0{digits}x")
    write_text(path, "\n".join(values) + "\n")
    return {"file": str(path), "channel": channel, "stage": stage, "before": signed, "after": signed + delta}


def shift_hw_threshold(build_dir: str | Path, index: int, channel: int = 0, delta: float = 1) -> dict:
    """Add `delta` to every threshold of `channel` of the index-th Thresholding of the hardware-layer graph."""
    partition = BuildFolder(build_dir, must_exist=False).partition_model()
    return _shift_graph_threshold(partition, "Thresholding", index, channel, delta)


def shift_streamlined_threshold(build_dir: str | Path, index: int, channel: int = 0, delta: float = 1) -> dict:
    """Add `delta` to every threshold of `channel` of the index-th MultiThreshold of the streamlined graph."""
    streamlined = BuildFolder(build_dir, must_exist=False).model("streamline")
    return _shift_graph_threshold(streamlined, "MultiThreshold", index, channel, delta)


def _shift_graph_threshold(path: Path, op_type: str, index: int, channel: int, delta: float) -> dict:
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(str(path))
    nodes = [n for n in model.graph.node if n.op_type == op_type]
    if not 0 <= index < len(nodes):
        raise ConfigError(f"{path}: {op_type} layer {index} outside 0..{len(nodes) - 1}")
    node = nodes[index]
    t = np.array(model.get_initializer(node.input[1]))
    if not 0 <= channel < t.shape[0]:
        raise ConfigError(f"{path}: {node.name} has {t.shape[0]} channels, not {channel + 1}")
    t[channel] += delta
    model.set_initializer(node.input[1], t)
    with atomic_path(path) as tmp:
        model.save(str(tmp))
    return {"file": str(path), "layer": node.name, "channel": channel, "delta": delta}
