"""A plain SystemVerilog top level for FINN layers, written from the dataflow graph (FINN's stitcher needs Vivado).

    layers = rtl_layers(model, build_dir / "hdl")        # one Layer per node of the specialized, code-generated graph
    write_top(layers, "frd_top.sv")                      # chain them: s_axis -> layer -> ... -> m_axis

Each FINN RTL layer comes as a generated wrapper module whose ports follow one convention: ap_clk, ap_rst_n,
in0_V_* / out0_V_* AXI-Streams, sometimes in1_V_* (MVAU weights, Thresholding threshold-set select), ap_clk2x and
AXI-Lite ports. The top ties AXI-Lite inputs to zero, drives ap_clk2x from the one clock, holds Thresholding's
set-select stream valid, and wires each MVAU's memstream wrapper (internal_decoupled weights) into its in1_V.
The top exposes one input and one output stream, s_axis_* and m_axis_*, plus ap_clk and ap_rst_n.

Only straight chains are stitched: a graph that forks (DuplicateStreams, concat) is simulated layer by layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from frd_q.errors import FrdError
from frd_q.fsutil import write_text


class StitchError(FrdError):
    """A graph or a generated layer cannot be stitched into a simulation top."""


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "input" | "output"


@dataclass
class Layer:
    """One FINN RTL node: its module, its stream widths and the generated files it needs."""

    name: str
    op_type: str
    module: str
    ports: list[Port]
    in_bits: int  # padded in0_V width
    out_bits: int  # padded out0_V width
    sources: list[Path]  # generated files of this node (wrappers, impl)
    data_files: list[Path]  # $readmemh files read at run time (thresholds, weights)
    weight_module: str | None = None  # memstream wrapper module feeding in1_V
    weight_ports: list[Port] = field(default_factory=list)
    weight_bits: int = 0
    weight_init: str | None = None  # memstream INIT_FILE, relative to the run folder


_PORT = re.compile(r"^\s*(input|output)\b[^;]*?(?:\[[^\]]*\]\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*,?\s*(?://.*)?$")


def module_ports(path: Path, module: str) -> list[Port]:
    """The ports of `module` declared ANSI-style in `path` (one port per line, as FINN's templates write them)."""
    text = path.read_text()
    start = re.search(rf"^\s*module\s+{re.escape(module)}\b", text, flags=re.M)
    if start is None:
        raise StitchError(f"{path}: module {module} not found")
    body = text[start.end():]
    header = body[: body.index(");") + 2]
    ports = []
    for line in header.splitlines():
        line = re.sub(r"\(\*.*?\*\)", "", line)
        m = _PORT.match(line)
        if m:
            ports.append(Port(m.group(2), m.group(1)))
    if not ports:
        raise StitchError(f"{path}: no ports found for module {module}")
    return ports


def _find(files: list[Path], suffix: str) -> Path:
    for f in files:
        if f.name.endswith(suffix):
            return f
    raise StitchError(f"no generated file ending in {suffix} among {[f.name for f in files]}")


def rtl_layers(model, hdl_dir: str | Path) -> dict[str, Layer]:
    """{node name: Layer} for every *_rtl node of a code-generated FINN graph; files come from hdl_dir/<node>/.

    Nodes without an RTL backend (*_hls) are left out: open simulators cannot run them."""
    from qonnx.custom_op.registry import getCustomOp

    import finn.custom_op.fpgadataflow  # noqa: F401  (registers FINN's ops)

    hdl_dir = Path(hdl_dir)
    layers = {}
    for node in model.graph.node:
        if not node.op_type.endswith("_rtl"):
            continue
        inst = getCustomOp(node)
        folder = hdl_dir / node.name
        if not folder.is_dir():
            raise StitchError(f"{folder}: generated sources of {node.name} not found (run the codegen step)")
        files = sorted(p for p in folder.iterdir() if p.is_file())
        sources = [p for p in files if p.suffix in (".v", ".sv")]
        data = [p for p in files if p.suffix == ".dat"]
        wrapper = _top_file(node, sources)
        layer = Layer(node.name, node.op_type, node.name, module_ports(wrapper, node.name),
                      inst.get_instream_width_padded(0), inst.get_outstream_width_padded(0), sources, data)
        if node.op_type.startswith("MVAU") and inst.get_nodeattr("mem_mode") == "internal_decoupled":
            ms = _find(sources, "_memstream_wrapper.v")
            layer.weight_module = ms.name[: -len(".v")]
            layer.weight_ports = module_ports(ms, layer.weight_module)
            layer.weight_bits = inst.get_instream_width_padded(1)
            layer.weight_init = f"{node.name}_memblock.dat"
        elif node.op_type.startswith("MVAU") and inst.get_nodeattr("mem_mode") != "internal_embedded":
            raise StitchError(f"{node.name}: mem_mode {inst.get_nodeattr('mem_mode')} is not supported by the stitcher")
        layers[node.name] = layer
    return layers


def _top_file(node, sources: list[Path]) -> Path:
    pattern = re.compile(rf"^\s*module\s+{re.escape(node.name)}\b", flags=re.M)
    for f in sources:
        if pattern.search(f.read_text()):
            return f
    raise StitchError(f"{node.name}: no generated file declares module {node.name}")


def _tie(port: Port, bindings: dict[str, str]) -> str:
    if port.name in bindings:
        return f".{port.name}({bindings[port.name]})"
    if port.name == "ap_clk2x":
        return f".{port.name}(ap_clk)"
    if port.direction == "input":
        return f".{port.name}('0)"
    return f".{port.name}()"


def _instance(module: str, inst: str, ports: list[Port], bindings: dict[str, str], params: str = "") -> str:
    conns = ",\n    ".join(_tie(p, bindings) for p in ports)
    return f"  {module} {params}{inst} (\n    {conns}\n  );\n"


def write_top(layers: list[Layer], path: str | Path, name: str = "frd_top") -> Path:
    """Write a top module chaining `layers` in order; returns the path. Streams are named s_axis_* / m_axis_*."""
    if not layers:
        raise StitchError("nothing to stitch")
    for prev, nxt in zip(layers, layers[1:]):
        if prev.out_bits != nxt.in_bits:
            raise StitchError(f"{prev.name} -> {nxt.name}: stream widths {prev.out_bits} != {nxt.in_bits}")
    lines = [
        f"// Generated by frd_q sim.stitch from the FINN dataflow graph: {len(layers)} layers, chained in graph order.",
        f"module {name} (",
        "  input  ap_clk,",
        "  input  ap_rst_n,",
        f"  input  [{layers[0].in_bits - 1}:0] s_axis_tdata,",
        "  input  s_axis_tvalid,",
        "  output s_axis_tready,",
        f"  output [{layers[-1].out_bits - 1}:0] m_axis_tdata,",
        "  output m_axis_tvalid,",
        "  input  m_axis_tready",
        ");",
    ]
    body = []
    for i, layer in enumerate(layers):
        src = "s_axis" if i == 0 else f"s{i}"
        dst = "m_axis" if i == len(layers) - 1 else f"s{i + 1}"
        if i < len(layers) - 1:
            lines.append(f"  wire [{layer.out_bits - 1}:0] {dst}_tdata;")
            lines.append(f"  wire {dst}_tvalid, {dst}_tready;")
        bind = {
            "ap_clk": "ap_clk", "ap_rst_n": "ap_rst_n",
            "in0_V_TDATA": f"{src}_tdata", "in0_V_TVALID": f"{src}_tvalid", "in0_V_TREADY": f"{src}_tready",
            "out0_V_TDATA": f"{dst}_tdata", "out0_V_TVALID": f"{dst}_tvalid", "out0_V_TREADY": f"{dst}_tready",
        }
        if layer.op_type.startswith("Thresholding"):
            bind["in1_V_TVALID"] = "1'b1"  # one threshold set: the set-select stream is always valid
        if layer.weight_module is not None:
            w = f"w{i}"
            lines.append(f"  wire [{layer.weight_bits - 1}:0] {w}_tdata;")
            lines.append(f"  wire {w}_tvalid, {w}_tready;")
            bind.update({"in1_V_TDATA": f"{w}_tdata", "in1_V_TVALID": f"{w}_tvalid", "in1_V_TREADY": f"{w}_tready"})
            ms_bind = {"ap_clk": "ap_clk", "ap_rst_n": "ap_rst_n", "m_axis_0_tdata": f"{w}_tdata",
                       "m_axis_0_tvalid": f"{w}_tvalid", "m_axis_0_tready": f"{w}_tready"}
            body.append(_instance(layer.weight_module, f"{layer.name}_wstrm", layer.weight_ports, ms_bind,
                                  params=f'#(.INIT_FILE("{layer.weight_init}")) '))
        body.append(_instance(layer.module, f"{layer.name}_i", layer.ports, bind))
    text = "\n".join(lines) + "\n\n" + "\n".join(body) + "endmodule\n"
    path = Path(path)
    write_text(path, text)
    return path
