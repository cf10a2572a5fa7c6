"""Small questions about a FINN dataflow graph that several modules ask: which inputs of a node are streams, which
backend a layer has, what op a specialized layer was before specialization.

    streamed_inputs(model, node)    the inputs that arrive as streams (not initializers, not empty)
    base_op("MVAU_rtl") == "MVAU"   the op type without its _rtl / _hls backend suffix
    backend("MVAU_rtl") == "rtl"    "rtl", "hls", or None for a layer not yet specialized
    has_hls_layers(model)           whether any layer is left to Vitis HLS
"""

from __future__ import annotations

BACKENDS = ("rtl", "hls")


def streamed_inputs(model, node) -> list[str]:
    """`node`'s inputs that are streams: not initializers (weights, thresholds) and not empty optional inputs."""
    return [i for i in node.input if i and model.get_initializer(i) is None]


def backend(op_type: str) -> str | None:
    for b in BACKENDS:
        if op_type.endswith(f"_{b}"):
            return b
    return None


def base_op(op_type: str) -> str:
    b = backend(op_type)
    return op_type[: -len(b) - 1] if b else op_type


def has_hls_layers(model) -> bool:
    return any(backend(n.op_type) == "hls" for n in model.graph.node)
