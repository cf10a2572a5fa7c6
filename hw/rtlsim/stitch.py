"""A plain SystemVerilog top level for FINN layers, written from the dataflow graph (FINN's stitcher needs Vivado).

    layers = rtl_layers(model, build_dir / "hdl")        # one Layer per node of the specialized, code-generated graph
    ports = write_top(list(layers.values()), "frd_top.sv")  # wire them as the graph does; ports.inputs / .outputs

Each FINN RTL layer comes as a generated wrapper module whose ports follow one convention: ap_clk, ap_rst_n,
in0_V_* / out0_V_* AXI-Streams, sometimes in1_V_* (MVAU weights, Thresholding threshold-set select), ap_clk2x and
AXI-Lite ports. A layer's k-th streamed input (inputs that are not initializers, in node order) is in<k>_V, its
j-th output out<j>_V (the frd_q RTL ops of hw.rtl_ops follow the same convention: DuplicateStreams has out0..N-1,
StreamingConcat in0..N-1, AbsDiff in0/in1). The top ties AXI-Lite inputs to zero, drives ap_clk2x from the one
clock, holds Thresholding's set-select stream valid, and wires each MVAU's memstream wrapper (internal_decoupled
weights) into its in1_V. Streams no listed layer produces become top inputs s_axis_<n>_*, streams no listed layer
consumes top outputs m_axis_<n>_*, in the order the layers list them (or as `inputs` / `outputs` say). Internal
wires are named by producer position, not by tensor name, so two graphs alike up to names give the same text.
With `probe=True` every StreamingFIFO's `maxcount` (its highest occupancy since reset) is gathered, 32 bits per
FIFO, into one output `probe`, and an input `limit` (32 bits per FIFO, same order) caps each FIFO's occupancy:
its input handshake is held off while `count` >= the limit. One compiled simulator with deep FIFOs then behaves
as any shallower choice of depths (how hw.fifo_sizing searches for depths without recompiling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from frd_q.errors import FrdError
from frd_q.fsutil import write_text
from hw.graph import backend, streamed_inputs


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
    sources: list[Path]  # generated files of this node (wrappers, impl)
    data_files: list[Path]  # $readmemh files read at run time (thresholds, weights)
    weight_module: str | None = None  # memstream wrapper module feeding in1_V
    weight_ports: list[Port] = field(default_factory=list)
    weight_bits: int = 0
    weight_init: str | None = None  # memstream INIT_FILE, relative to the run folder
    inputs: list[str] = field(default_factory=list)  # streamed input tensors, port k = in<k>_V
    outputs: list[str] = field(default_factory=list)  # output tensors, port j = out<j>_V
    in_widths: list[int] = field(default_factory=list)  # padded width per input port
    out_widths: list[int] = field(default_factory=list)  # padded width per output port


@dataclass
class TopPorts:
    """The stream ports of a written top: (name prefix, padded width) per input and output, and the probe bus."""

    inputs: list[tuple[str, int]]
    outputs: list[tuple[str, int]]
    probe: list[str] = field(default_factory=list)  # FIFO layer names, 32 bits each in `probe` and `limit` (first = LSBs)


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
    from hw.rtl_ops import register

    register()

    hdl_dir = Path(hdl_dir)
    layers = {}
    for node in model.graph.node:
        if backend(node.op_type) != "rtl":
            continue
        inst = getCustomOp(node)
        folder = hdl_dir / node.name
        if not folder.is_dir():
            raise StitchError(f"{folder}: generated sources of {node.name} not found (run the codegen step)")
        files = sorted(p for p in folder.iterdir() if p.is_file())
        sources = [p for p in files if p.suffix in (".v", ".sv")]
        data = [p for p in files if p.suffix == ".dat"]
        wrapper = _top_file(node, sources)
        streamed = streamed_inputs(model, node)
        layer = Layer(node.name, node.op_type, node.name, module_ports(wrapper, node.name), sources, data,
                      inputs=streamed, outputs=list(node.output),
                      in_widths=[inst.get_instream_width_padded(k) for k in range(len(streamed))],
                      out_widths=[inst.get_outstream_width_padded(j) for j in range(len(node.output))])
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


def _stream(bind: dict, port: str, wire: str) -> None:
    bind.update({f"{port}_TDATA": f"{wire}_tdata", f"{port}_TVALID": f"{wire}_tvalid", f"{port}_TREADY": f"{wire}_tready"})


def write_top(layers: list[Layer], path: str | Path, name: str = "frd_top", inputs: list[str] | None = None,
              outputs: list[str] | None = None, probe: bool = False) -> TopPorts:
    """Write a top module wiring `layers` by their tensors; returns its stream ports (see the module docstring)."""
    if not layers:
        raise StitchError("nothing to stitch")
    producer: dict[str, tuple[int, int]] = {}
    for i, layer in enumerate(layers):
        for j, t in enumerate(layer.outputs):
            producer[t] = (i, j)
    consumer: dict[str, str] = {}
    for layer in layers:
        for t in layer.inputs:
            if t in consumer:
                raise StitchError(f"{t} feeds both {consumer[t]} and {layer.name}: a fork needs a DuplicateStreams layer")
            consumer[t] = layer.name
    found_in = [t for layer in layers for t in layer.inputs if t not in producer]
    found_out = [t for layer in layers for t in layer.outputs if t not in consumer]
    for given, found, what in ((inputs, found_in, "inputs"), (outputs, found_out, "outputs")):
        if given is not None and sorted(given) != sorted(found):
            raise StitchError(f"top {what} {given} do not match the layers' open streams {found}")
    top_in, top_out = inputs or found_in, outputs or found_out
    wire = {t: f"s_axis_{n}" for n, t in enumerate(top_in)}
    wire.update({t: f"m_axis_{n}" for n, t in enumerate(top_out)})
    widths = {}
    for i, layer in enumerate(layers):
        for j, t in enumerate(layer.outputs):
            widths[t] = layer.out_widths[j]
            wire.setdefault(t, f"t{i}_{j}")
    for layer in layers:
        for k, t in enumerate(layer.inputs):
            if t in widths and widths[t] != layer.in_widths[k]:
                src = layers[producer[t][0]].name
                raise StitchError(f"{src} -> {layer.name}: stream widths {widths[t]} != {layer.in_widths[k]}")
            widths[t] = layer.in_widths[k]
    fifos = [layer.name for layer in layers if probe and any(p.name == "maxcount" for p in layer.ports)]
    ports = TopPorts([(wire[t], widths[t]) for t in top_in], [(wire[t], widths[t]) for t in top_out], fifos)
    decl = ["  input  ap_clk", "  input  ap_rst_n"]
    for prefix, w in ports.inputs:
        decl += [f"  input  [{w - 1}:0] {prefix}_tdata", f"  input  {prefix}_tvalid", f"  output {prefix}_tready"]
    for prefix, w in ports.outputs:
        decl += [f"  output [{w - 1}:0] {prefix}_tdata", f"  output {prefix}_tvalid", f"  input  {prefix}_tready"]
    if fifos:
        decl.append(f"  output [{32 * len(fifos) - 1}:0] probe")
        decl.append(f"  input  [{32 * len(fifos) - 1}:0] limit")
    lines = [f"// Generated by frd_q hw.rtlsim.stitch from the FINN dataflow graph: {len(layers)} layers.",
             f"module {name} (", ",\n".join(decl), ");"]
    body = []
    for i, layer in enumerate(layers):
        for j, t in enumerate(layer.outputs):
            if t in consumer:
                lines.append(f"  wire [{widths[t] - 1}:0] {wire[t]}_tdata;")
                lines.append(f"  wire {wire[t]}_tvalid, {wire[t]}_tready;")
        bind = {"ap_clk": "ap_clk", "ap_rst_n": "ap_rst_n"}
        for k, t in enumerate(layer.inputs):
            _stream(bind, f"in{k}_V", wire[t])
        if layer.name in fifos:  # occupancy cap: the input handshake waits while count >= limit
            q, src = fifos.index(layer.name), wire[layer.inputs[0]]
            lines.append(f"  wire [31:0] c{i}_count;")
            lines.append(f"  wire c{i}_open = c{i}_count < limit[{32 * q + 31}:{32 * q}];")
            lines.append(f"  wire c{i}_tready;")
            lines.append(f"  assign {src}_tready = c{i}_tready & c{i}_open;")
            bind.update({"in0_V_TVALID": f"{src}_tvalid & c{i}_open", "in0_V_TREADY": f"c{i}_tready",
                         "count": f"c{i}_count"})
        for j, t in enumerate(layer.outputs):
            _stream(bind, f"out{j}_V", wire[t])
        if layer.op_type.startswith("Thresholding"):
            bind["in1_V_TVALID"] = "1'b1"  # one threshold set: the set-select stream is always valid
        if layer.name in fifos:
            bind["maxcount"] = f"probe[{32 * fifos.index(layer.name) + 31}:{32 * fifos.index(layer.name)}]"
        if layer.weight_module is not None:
            w = f"w{i}"
            lines.append(f"  wire [{layer.weight_bits - 1}:0] {w}_tdata;")
            lines.append(f"  wire {w}_tvalid, {w}_tready;")
            _stream(bind, "in1_V", w)
            ms_bind = {"ap_clk": "ap_clk", "ap_rst_n": "ap_rst_n", "m_axis_0_tdata": f"{w}_tdata",
                       "m_axis_0_tvalid": f"{w}_tvalid", "m_axis_0_tready": f"{w}_tready"}
            body.append(_instance(layer.weight_module, f"{layer.name}_wstrm", layer.weight_ports, ms_bind,
                                  params=f'#(.INIT_FILE("{layer.weight_init}")) '))
        body.append(_instance(layer.module, f"{layer.name}_i", layer.ports, bind))
    text = "\n".join(lines) + "\n\n" + "\n".join(body) + "endmodule\n"
    write_text(Path(path), text)
    return ports
