"""frd_q's resource model of an accelerator: FINN's per-layer estimates, corrected where they count nothing.

    from hw.resources import layer_resources, model_totals, fits_board
    use = model_totals(model, board.part)        # {"LUT", "BRAM_18K", "URAM", "DSP"} of every layer in the graph
    ok = fits_board(use, board, 0.9)

FINN's estimates (`res_estimation`) leave out what decides whether a fast Siamese U-Net fits:
- the RTL MVAU: FINN counts 0 LUT for it (its `lut_estimation` returns 0), weights in LUTRAM included, and one
  DSP per four PE lanes whatever the activation width (finn-rtllib packs only 3 lanes when 8-bit pixels feed it);
- frd_q's stream operators (duplicate, |A - B|, max pool, concat, upsample): 0 everywhere;
- FIFOs and width converters: FINN inserts them after its estimates step, and its width-converter estimate misses
  the down-converters' multiplexers (Yosys: 57.6 k LUTs where FINN says 8.0 k on the 303-tiles/s build). This model counts every layer of the
  graph it is given, so on the code-generated graph (after FIFO sizing) they are in: a FIFO costs what FINN's
  own `StreamingFIFO` cost model says for its depth, width and RAM style.

The RTL MVAU's LUTs and FFs are fitted (least squares) to Yosys (`frd-q synth`, `synth_xilinx -family xcup`) on
the 10 distinct MVAUs of the full FRD student's ZCU104 build (PE x SIMD from 72 to 1152; docs/rtl.md, "Resource
model"): LUTs = 24.7 x PE x SIMD + 40.3 x PE, plus the weight memory when it is in LUTRAM (64 bits per LUT), within
22 % of Yosys on each; FFs = 68.7 x PE x SIMD + 112 x PE - 422, within 15 %. FINN estimates no FFs at all, and on a
fast folding the MVAUs' FFs are what fills a board first. Other layers get FFs = FF_PER_LUT x their LUTs (Yosys on
the sweep's w4a4-s-frd design: 56.8 k FF for 63.4 k LUT outside the MVAUs). The stream operators get the Yosys
per-instance LUTs of docs/rtl.md. RTL Thresholding layers: LUTs = 0.383 x PE x input bits x steps + 70, FFs =
0.79 x the same + 72 (least squares on Yosys for the 16 distinct threshold layers of the default full build:
within 15 % above 400 LUTs; FINN counts 12.5 k LUTs where Yosys counts 22.9 k LUTs and 45.2 k FFs). RTL window
generators: logic LUTs = 368 + 0.438 x buffer width x 64-word banks, plus the line buffer in LUTRAM as Yosys maps
it (`lutram_luts`; FINN counts a third of that on a 7-series part).
"""

from __future__ import annotations

import math
from pathlib import Path

from frd_q.fsutil import atomic_path, write_json
from hw.boards import RESOURCES

MODELLED = RESOURCES  #: LUT, FF, BRAM_18K, URAM, DSP
ESTIMATED = [r for r in RESOURCES if r != "FF"]  #: the resources FINN's estimates cover
MVAU_LUT_PER_MAC = 24.7  #: Yosys LUTs per multiplier lane (PE x SIMD) of an RTL MVAU (the SIMD adder trees)
MVAU_LUT_PER_PE = 40.3  #: Yosys LUTs per PE (accumulator, output queue)
MVAU_FF_PER_MAC = 68.7  #: Yosys FFs per lane (weight and activation pipeline registers)
MVAU_FF_PER_PE = 112.0
MVAU_FF_BASE = -422.0
THRESHOLD_LUT = (0.383, 70.0)  #: RTL Thresholding: LUTs = a x PE x input bits x steps + b (least squares on Yosys,
THRESHOLD_FF = (0.790, 72.0)  #: the 16 distinct threshold layers of the default full build; FINN says about half)
SWG_LOGIC_LUT = (368.0, 0.438)  #: RTL window generator logic: LUTs = a + b x buffer width x 64-word banks (least
#: squares on Yosys for the 24 distinct generators of the default ZCU104 and Pynq-Z1 builds: within 25 % but two)
SWG_FF_PER_LUT = 0.3  #: FFs per logic LUT of a window generator (Yosys: 3.4 k FFs for its 25 on the ZCU104)
FF_PER_LUT = 0.9  #: FFs per LUT of the other layers (Yosys, sweep design w4a4-s-frd)
DWC_FF_PER_BIT = 1.07  #: Yosys FFs per bit of input + output width of an RTL width converter (within 27 FFs)
LUTRAM_BITS_PER_LUT = 64  #: a 6-input LUT holds 64 x 1 bits as distributed RAM
#: Yosys per-instance LUTs of frd_q's stream operators (docs/rtl.md, tiny student; FINN estimates 0)
STREAM_OP_LUT = {"DuplicateStreams_rtl": 5, "ElementwiseAbsDiff_rtl": 15, "Pool_rtl": 15, "StreamingConcat_rtl": 24,
                 "UpsampleNearestNeighbour_rtl": 73}


def mvau_resources(inst, part: str) -> dict[str, float]:
    """LUT, FF, BRAM_18K, URAM and DSP of one RTL MVAU (`inst`: its FINN custom op)."""
    from finn.util.basic import get_dsp_block

    pe, simd = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    wbits, abits = inst.get_input_datatype(1).bitwidth(), inst.get_input_datatype(0).bitwidth()
    lut = MVAU_LUT_PER_MAC * pe * simd + MVAU_LUT_PER_PE * pe
    ff = max(0.0, MVAU_FF_PER_MAC * pe * simd + MVAU_FF_PER_PE * pe + MVAU_FF_BASE)
    bram = float(inst.bram_estimation(part))
    uram = float(inst.uram_estimation(part))
    if inst.get_nodeattr("mem_mode") == "internal_decoupled" and inst.get_nodeattr("ram_style") == "distributed":
        width, depth = pe * simd * wbits, inst.calc_wmem()
        lut += width * math.ceil(depth / LUTRAM_BITS_PER_LUT)
    dsp = mvau_dsps(pe, simd, dsp_lanes(wbits, abits, part), get_dsp_block(part))
    return {"LUT": lut, "FF": ff, "BRAM_18K": bram, "URAM": uram, "DSP": float(dsp)}


def threshold_resources(inst) -> dict[str, float]:
    """LUTs and FFs of an RTL Thresholding layer: its PE comparators, one per threshold step and input bit."""
    work = inst.get_nodeattr("PE") * inst.get_input_datatype().bitwidth() * inst.get_nodeattr("numSteps")
    return {"LUT": THRESHOLD_LUT[0] * work + THRESHOLD_LUT[1], "FF": THRESHOLD_FF[0] * work + THRESHOLD_FF[1]}


def lutram_luts(width: int, depth: int, part: str) -> int:
    """LUTs of a width x depth distributed RAM as Yosys maps it: RAM64M (3 data bits a 64-word bank in 4 LUTs) on
    7-series parts, RAM64M8 (7 bits in 8 LUTs) on UltraScale+ (exact on all 24 window buffers measured)."""
    bits, luts = (3, 4) if part.lower().startswith("xc7") else (7, 8)
    return math.ceil(width / bits) * luts * math.ceil(depth / 64)


def window_buffer(inst) -> tuple[int, int]:
    """(width in bits, depth in words) of an RTL window generator's line buffer."""
    return inst.get_nodeattr("SIMD") * inst.get_input_datatype().bitwidth(), int(inst.get_buffer_depth())


def window_resources(inst, part: str) -> dict[str, float]:
    """LUTs and FFs of an RTL window generator: its logic, plus its line buffer when that is in LUTRAM (FINN
    prices LUTRAM at a LUT per 38 words and bit: a third of what Yosys maps on a 7-series part)."""
    width, depth = window_buffer(inst)
    logic = SWG_LOGIC_LUT[0] + SWG_LOGIC_LUT[1] * width * math.ceil(depth / 64)
    ram = lutram_luts(width, depth, part) if inst.get_nodeattr("ram_style") == "distributed" else 0
    return {"LUT": logic + ram, "FF": SWG_FF_PER_LUT * logic}


def dsp_lanes(wbits: int, abits: int, part: str) -> int:
    """Multiplications one DSP slice does per cycle in finn-rtllib's RTL MVAU (mvu.sv): on DSP48E1/E2 the PE
    lanes packed into the A input, 1 + (A width - 1 - weight bits) // (weight bits + activation bits - 1) (A is 27
    bits wide on DSP48E2, 25 on DSP48E1; the narrow-weight bit is not counted, so this is a lower bound): 4 for
    W4A4, 3 for 4-bit weights on 8-bit pixels. DSP58 (Versal) takes 3 SIMD elements per slice instead."""
    from finn.util.basic import get_dsp_block

    block = get_dsp_block(part)
    if block == "DSP58":
        return 3
    a_width = 27 if block == "DSP48E2" else 25
    return max(1, 1 + (a_width - 1 - wbits) // (wbits + abits - 1))


def mvau_dsps(pe: int, simd: int, lanes: int, block: str) -> int:
    """DSP slices of an RTL MVAU: PE lanes share a slice on DSP48 (ceil(PE / lanes) per SIMD element), SIMD
    elements on DSP58."""
    return pe * math.ceil(simd / 3) if block == "DSP58" else math.ceil(pe / lanes) * simd


def finn_totals(model, part: str) -> dict[str, float]:
    from finn.analysis.fpgadataflow.res_estimation import res_estimation

    per_layer = model.analysis(lambda m: res_estimation(m, part))
    return {r: float(sum(layer.get(r, 0) for layer in per_layer.values())) for r in ESTIMATED}


def dwc_luts(w_in: int, w_out: int) -> float:
    """Yosys LUTs of an RTL width converter (34 distinct ones of the full student's build). A down-converter is a
    w_in / w_out : 1 multiplexer per output bit, about 2 LUTs per input bit and halving (1440 -> 15 bits: 19 009
    LUTs, where FINN estimates 22); an up-converter only registers (FINN estimates about one LUT per output bit,
    Yosys a quarter of that); a non-integer ratio costs about a LUT per bit of both widths."""
    if max(w_in, w_out) % min(w_in, w_out):
        return float(w_in + w_out + 50)
    if w_in > w_out:
        return 2.0 * w_in * math.log2(w_in / w_out) + 30.0
    return 0.25 * w_out + 20.0


def layer_resources(model, part: str) -> dict[str, dict[str, float]]:
    """Per layer of `model`: {"LUT", "FF", "BRAM_18K", "URAM", "DSP"} and "source" ("FINN" or "frd_q")."""
    from finn.analysis.fpgadataflow.res_estimation import res_estimation
    from qonnx.custom_op.registry import getCustomOp

    finn = model.analysis(lambda m: res_estimation(m, part))
    out = {}
    for k, node in enumerate(model.graph.node):
        dwc = node.op_type.startswith("StreamingDataWidthConverter")  # before specialization FINN skips it
        if node.name not in finn and not dwc:
            continue
        row = {r: float(finn.get(node.name, {}).get(r, 0)) for r in MODELLED}
        source = "FINN"
        if node.op_type == "MVAU_rtl":
            row, source = mvau_resources(getCustomOp(node), part), "frd_q"
        elif node.op_type.startswith("StreamingDataWidthConverter"):
            inst = getCustomOp(node)
            w_in, w_out = inst.get_instream_width(), inst.get_outstream_width()
            row["LUT"], row["FF"], source = dwc_luts(w_in, w_out), DWC_FF_PER_BIT * (w_in + w_out), "frd_q"
        elif node.op_type == "ConvolutionInputGenerator_rtl":
            row, source = row | window_resources(getCustomOp(node), part), "frd_q"
        elif node.op_type == "Thresholding_rtl":
            row, source = row | threshold_resources(getCustomOp(node)), "frd_q"
        else:
            if node.op_type in STREAM_OP_LUT:
                row["LUT"], source = max(row["LUT"], STREAM_OP_LUT[node.op_type]), "frd_q"
            row["FF"] = FF_PER_LUT * row["LUT"]
        out[node.name or f"{node.op_type}#{k}"] = row | {"source": source, "op": node.op_type}  # InsertDWC names none
    return out


def model_totals(model, part: str) -> dict[str, float]:
    per_layer = layer_resources(model, part)
    return {r: float(sum(layer[r] for layer in per_layer.values())) for r in MODELLED}


def fits_board(use: dict[str, float], board, fit_limit: float, reserve: dict[str, float] | None = None) -> bool:
    """Every modelled resource at most `fit_limit` of the board's capacity (less the `reserve` share of it, per
    resource, kept for what is not in the graph yet)."""
    reserve = reserve or {}
    return all(use[r] <= (fit_limit - reserve.get(r, 0.0)) * board.capacity[r] for r in MODELLED)


FIFO_RESERVE = {"LUT": 0.05, "FF": 0.05}  #: share of the board the folding leaves for the FIFOs sized later (their
#: LUTs and FFs; on the full FRD student 6.1 % of the ZCU104's LUTs and 2.7 % of its FFs, their BRAM/URAM beside
#: MVAUs that use 29 % of the BRAM and no URAM)


def folded_totals(model, part: str) -> dict[str, float]:
    """Totals of a folded graph before code generation, with the width converters FINN will insert (InsertDWC on
    a copy): the FIFOs are sized later and covered by FIFO_RESERVE."""
    import copy

    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC

    return model_totals(copy.deepcopy(model).transform(InsertDWC()), part)


def by_type(model, part: str) -> dict[str, dict[str, float]]:
    """Totals per layer type (FIFOs, width converters, MVAUs, ...)."""
    rows: dict[str, dict[str, float]] = {}
    for layer in layer_resources(model, part).values():
        row = rows.setdefault(layer["op"], {r: 0.0 for r in MODELLED} | {"layers": 0})
        row["layers"] += 1
        for r in MODELLED:
            row[r] += layer[r]
    return rows


def report(model, board, fit_limit: float) -> dict:
    """The whole accelerator against the board: totals (frd_q's model and FINN's), per layer type, use, fit."""
    rows = by_type(model, board.part)
    use = {r: float(sum(row[r] for row in rows.values())) for r in MODELLED}
    finn = finn_totals(model, board.part) | {"FF": 0.0}
    return {"board": board.name, "fit_limit": fit_limit, "total": use, "finn_total": finn,
            "capacity": {r: board.capacity[r] for r in MODELLED},
            "utilization": {r: use[r] / board.capacity[r] if board.capacity[r] else None for r in MODELLED},
            "fits": fits_board(use, board, fit_limit), "by_type": rows}


def markdown(rep: dict) -> str:
    lines = [f"# Resources of the whole accelerator on {rep['board']} (frd_q's model, hw/resources.py)", "",
             "| layer type | layers | LUT | FF | BRAM_18K | URAM | DSP |", "|---|---:|---:|---:|---:|---:|---:|"]
    for op, row in sorted(rep["by_type"].items()):
        lines.append(f"| {op} | {row['layers']} | {row['LUT']:.0f} | {row['FF']:.0f} | {row['BRAM_18K']:.1f} | "
                     f"{row['URAM']:.0f} | {row['DSP']:.0f} |")
    t, f, c, u = rep["total"], rep["finn_total"], rep["capacity"], rep["utilization"]
    lines.append("| **total** | | " + " | ".join(f"**{t[r]:.0f}**" for r in MODELLED) + " |")
    lines.append("| FINN's estimate | | " + " | ".join("-" if r == "FF" else f"{f[r]:.0f}" for r in MODELLED) + " |")
    lines.append("| board | | " + " | ".join(str(c[r]) for r in MODELLED) + " |")
    lines.append("| use | | " + " | ".join("-" if u[r] is None else f"{100 * u[r]:.1f} %" for r in MODELLED) + " |")
    verdict = "fits" if rep["fits"] else "does NOT fit"
    lines += ["", f"The design {verdict} within {rep['fit_limit']:.0%} of every resource.", ""]
    return "\n".join(lines)


def write_report(model, build) -> dict:
    rep = report(model, build.board, build.cfg.fit_limit)
    write_json(build.folder.resources_path, rep)
    with atomic_path(build.out / "resources.md") as tmp:
        Path(tmp).write_text(markdown(rep))
    return {k: v for k, v in rep.items() if k != "by_type"}
