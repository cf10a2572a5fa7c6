"""Find the first layer where two levels of the chain disagree.

Two ways, depending on the levels:

- `first_rtl_difference`: RTL against the python execution of the hardware-layer graph. Every layer of a chain is
  simulated on its own with the input the python execution feeds it; the first whose output differs is named.
- `first_graph_difference`: two ONNX graphs of the flow (streamlined vs hardware layers). Tensor names do not
  survive FINN's passes, so layers are matched by what they compute: the k-th matrix product of one graph with
  the k-th of the other (MatMul / MVAU), likewise thresholds (MultiThreshold / Thresholding), sliding windows
  (Im2Col / ConvolutionInputGenerator), pools, |A-B|, concats and upsamples, when their shapes agree.
- `first_quant_difference`: the streamlined graph against the QONNX graph, activation by activation: the integers
  of each MultiThreshold against those of the matching QONNX activation Quant (output / scale + zero point).

Each finding says whether the difference is a rounding tie: at a differing element the reference input of a
threshold layer lies within TIE_GAP of one of its thresholds (for a QONNX Quant: its value before rounding lies
within TIE_GAP of a half-integer). Integer inputs compared with integer thresholds cannot tie, so a difference
there is a real fault.
"""

from __future__ import annotations

import numpy as np

from hw.graph import base_op

TIE_GAP = 1e-3

ANCHORS = {
    "matmul": ("MatMul", "MVAU"),
    "threshold": ("MultiThreshold", "Thresholding"),
    "window": ("Im2Col", "ConvolutionInputGenerator"),
    "pool": ("MaxPoolNHWC", "MaxPool", "Pool"),
    "absdiff": ("Abs", "ElementwiseAbsDiff"),
    "concat": ("Concat", "StreamingConcat"),
    "upsample": ("Resize", "Upsample", "UpsampleNearestNeighbour"),
}


def anchor_class(op_type: str) -> str | None:
    base = base_op(op_type)
    for cls, ops in ANCHORS.items():
        if base in ops:
            return cls
    return None


def _thresholds(model, node) -> np.ndarray | None:
    if base_op(node.op_type) not in ("MultiThreshold", "Thresholding") or len(node.input) < 2:
        return None
    return model.get_initializer(node.input[1])


def threshold_gap(model, node, x: np.ndarray, differing: np.ndarray, channel_axis: int = -1) -> float | None:
    """Smallest distance between a reference input at a differing element and a threshold of its channel."""
    t = _thresholds(model, node)
    if t is None or not differing.any():
        return None
    t = np.asarray(t, dtype=np.float64)
    xs = np.moveaxis(np.asarray(x, dtype=np.float64), channel_axis, -1)
    diff = np.moveaxis(differing, channel_axis, -1)
    idx = np.nonzero(diff)
    vals, chans = xs[idx], idx[-1]
    rows = t[chans % t.shape[0]] if t.shape[0] > 1 else np.broadcast_to(t[0], (len(vals), t.shape[1]))
    return float(np.abs(rows - vals[:, None]).min())


def _finding(layer: str, op_type: str, got: np.ndarray, want: np.ndarray, gap: float | None, integer: bool) -> dict:
    differing = got != want
    return {
        "layer": layer,
        "op_type": op_type,
        "mismatches": int(differing.sum()),
        "elements": int(differing.size),
        "max_abs_diff": float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()),
        "threshold_gap": gap,
        "tie": bool(gap is not None and gap < TIE_GAP and not integer),
    }


def first_rtl_difference(acc, chain: list[str], ref: dict, hw_model=None, hw_nodes: dict | None = None) -> dict | None:
    """Simulate each layer of `chain` alone on its python-execution inputs (`ref`: {tensor: value} from
    Accelerator.reference); the first layer whose output differs."""
    for name in chain:
        found = acc.check([name], ref)
        if not found["mismatches"]:
            continue
        tensor, got = next((t, g) for t, g in found["outputs"].items() if (g != ref[t].reshape(g.shape)).any())
        want = ref[tensor].reshape(got.shape)
        x = ref[acc.nodes[name].input[0]]
        gap = None
        if hw_model is not None and hw_nodes and name in hw_nodes:
            gap = threshold_gap(hw_model, hw_nodes[name], x.reshape(got.shape[:-1] + (-1,)), got != want)
        return _finding(name, acc.nodes[name].op_type, got, want, gap, integer=True)
    return None


def _nodes_by_class(model) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in model.graph.node:
        cls = anchor_class(node.op_type)
        if cls is not None:
            out.setdefault(cls, []).append(node)
    return out


NCHW, NHWC = ["N", "C", "H", "W"], ["N", "H", "W", "C"]


def _layout(model, tensor: str, default: list[str] | None = None) -> list[str] | None:
    """The tensor's data layout annotation (InferDataLayouts), else `default`."""
    layout = model.get_tensor_layout(tensor)
    return list(layout) if layout is not None else default


def _align(a: np.ndarray, shape: tuple, layout: list[str] | None = None,
           target: list[str] | None = None) -> np.ndarray | None:
    """The reference tensor `a` (layout `layout`) in the layout and shape of the tensor it is compared with, or None
    when it cannot be. With both layouts known the transpose follows them (a (1, C, H, W) tensor with C = H = W has
    the same shape in both); with one unknown, an NCHW reference is assumed when only its transpose fits."""
    if a.ndim == 4 and layout is not None and target is not None:
        if layout == NCHW and target == NHWC:
            a = a.transpose(0, 2, 3, 1)
        elif layout == NHWC and target == NCHW:
            a = a.transpose(0, 3, 1, 2)
        return a if a.shape == shape else None
    if a.shape == shape:
        return a
    if a.ndim == 4 and a.transpose(0, 2, 3, 1).shape == shape:  # NCHW reference against an NHWC layer
        return a.transpose(0, 2, 3, 1)
    return None


def backend_layer(node) -> bool:
    """A FINN hardware layer (its tensors are NHWC)."""
    return node.domain.startswith("finn.custom_op.fpgadataflow")


def first_graph_difference(ref_model, ref_ctx: dict, model, ctx: dict, integer_inputs: bool = False) -> dict | None:
    """First layer of `model` (graph order) whose output differs from the matching layer of `ref_model`."""
    ref_nodes = _nodes_by_class(ref_model)
    seen: dict[str, int] = {}
    for node in model.graph.node:
        cls = anchor_class(node.op_type)
        if cls is None:
            continue
        k = seen.get(cls, 0)
        seen[cls] = k + 1
        if k >= len(ref_nodes.get(cls, [])):
            continue
        ref_node = ref_nodes[cls][k]
        got = ctx[node.output[0]]
        want = _align(ref_ctx[ref_node.output[0]], got.shape, _layout(ref_model, ref_node.output[0]),
                      _layout(model, node.output[0], NHWC if backend_layer(node) else None))
        if want is None or np.array_equal(got, want):
            continue
        gap = None
        if cls == "threshold":
            layout = _attr(ref_node, "data_layout", "NCHW") if ref_node.op_type == "MultiThreshold" else "NHWC"
            ref_in = ref_ctx[ref_node.input[0]]
            axis = 1 if layout == "NCHW" and ref_in.ndim == 4 else -1
            differing = got != want
            if axis == 1:
                differing = differing.transpose(0, 3, 1, 2)
            gap = threshold_gap(ref_model, ref_node, ref_in, differing, channel_axis=axis)
        finding = _finding(node.name, node.op_type, got, want, gap, integer=integer_inputs)
        finding["reference_layer"] = ref_node.name
        return finding
    return None


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return a.s.decode() if a.s else default
    return default


def _activation_quants(model) -> list:
    return [n for n in model.graph.node if n.op_type == "Quant" and model.get_initializer(n.input[0]) is None]


def _quant_integers(model, node, ctx) -> tuple[np.ndarray, np.ndarray]:
    """(integer output, pre-rounding value) of a QONNX activation Quant: q = round(x / s + z), out = (q - z) s."""
    s = np.asarray(model.get_initializer(node.input[1]), dtype=np.float64)
    z = np.asarray(model.get_initializer(node.input[2]), dtype=np.float64)
    if s.ndim == 1 and s.size > 1:  # per-channel scale, NCHW
        s, z = s.reshape(1, -1, 1, 1), (z.reshape(1, -1, 1, 1) if z.size > 1 else z)
    q = np.round(ctx[node.output[0]].astype(np.float64) / s + z)
    return q, ctx[node.input[0]].astype(np.float64) / s + z


def _qonnx_layout(qonnx_model, qonnx_ctx: dict, quant) -> list[str] | None:
    """The layout of a QONNX Quant's output: the graph is PyTorch's, so a 4D activation is NCHW unless annotated."""
    out = quant.output[0]
    return _layout(qonnx_model, out, NCHW if qonnx_ctx[out].ndim == 4 else None)


def first_quant_difference(qonnx_model, qonnx_ctx: dict, model, ctx: dict) -> dict | None:
    """First MultiThreshold of the streamlined graph whose integers differ from the matching QONNX activation Quant.

    Activation quantizers are matched in graph order, skipping QONNX quantizers that have no streamlined
    counterpart of the same shape (the 8-bit input quantizers, removed by streamlining). A difference is a rounding
    tie when the QONNX value before rounding lies within TIE_GAP of a half-integer at a differing element."""
    quants = _activation_quants(qonnx_model)
    k = 0
    for node in model.graph.node:
        if node.op_type != "MultiThreshold":
            continue
        got = ctx[node.output[0]]
        target = _layout(model, node.output[0])
        while k < len(quants) and _align(qonnx_ctx[quants[k].output[0]], got.shape,
                                         _qonnx_layout(qonnx_model, qonnx_ctx, quants[k]), target) is None:
            k += 1
        if k >= len(quants):
            return None
        q, pre = _quant_integers(qonnx_model, quants[k], qonnx_ctx)
        ref_node = quants[k]
        k += 1
        layout = _qonnx_layout(qonnx_model, qonnx_ctx, ref_node)
        want, pre = _align(q, got.shape, layout, target), _align(pre, got.shape, layout, target)
        if np.array_equal(got, want):
            continue
        differing = got != want
        gap = float(np.abs(np.abs(pre[differing] - np.floor(pre[differing])) - 0.5).min())
        finding = _finding(node.name, node.op_type, got, want, None, integer=False)
        finding.update({"reference_layer": ref_node.name, "threshold_gap": gap, "tie": gap < TIE_GAP})
        return finding
    return None
