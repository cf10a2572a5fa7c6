"""frd_q's resource model of an accelerator: FINN's per-layer estimates, corrected where they count nothing.

    from hw.resources import layer_resources, model_totals, fits_board
    use = model_totals(model, board.part)        # {"LUT", "BRAM_18K", "URAM", "DSP"} of every layer in the graph
    ok = fits_board(use, board, 0.9)

FINN's estimates (`res_estimation`) leave out what decides whether a fast Siamese U-Net fits:
- the RTL MVAU: FINN counts 0 LUT for it (its `lut_estimation` returns 0), weights in LUTRAM included, and one
  DSP per four PE lanes whatever the activation width (finn-rtllib packs only 3 lanes when 8-bit pixels feed it);
- frd_q's stream operators (duplicate, |A - B|, max pool, concat, upsample): 0 everywhere;
- FIFOs and width converters: FINN inserts them after its estimates step. This model counts every layer of the
  graph it is given, so on the code-generated graph (after FIFO sizing) they are in: a FIFO costs what FINN's
  own `StreamingFIFO` cost model says for its depth, width and RAM style.

The RTL MVAU's LUTs are calibrated on Yosys (`frd-q synth`, `synth_xilinx -family xcup`) per layer of the full
student's ZCU104 build (docs/rtl.md, "Resource model"): LUTs = MVAU_LUT_PER_MAC x PE x SIMD + MVAU_LUT_BASE,
plus the weight memory when it is in LUTRAM (64 bits per LUT). The stream operators get the Yosys per-instance
figures of docs/rtl.md. FFs are not modelled (FINN estimates none; boards have twice as many FFs as LUTs).
"""

from __future__ import annotations

import math
from pathlib import Path

from frd_q.fsutil import atomic_path, write_json
from hw.folding import ESTIMATED, dsp_lanes, mvau_dsps

MVAU_LUT_PER_MAC = 3.0  #: Yosys LUTs per multiplier lane (PE x SIMD) of an RTL MVAU, beyond its weight memory
MVAU_LUT_BASE = 150.0  #: Yosys LUTs of an RTL MVAU's control, replay buffer and output queue
LUTRAM_BITS_PER_LUT = 64  #: a 6-input LUT holds 64 x 1 bits as distributed RAM
#: Yosys per-instance LUTs of frd_q's stream operators (docs/rtl.md, tiny student; FINN estimates 0)
STREAM_OP_LUT = {"DuplicateStreams_rtl": 5, "ElementwiseAbsDiff_rtl": 15, "Pool_rtl": 15, "StreamingConcat_rtl": 24,
                 "UpsampleNearestNeighbour_rtl": 73}


def mvau_resources(inst, part: str) -> dict[str, float]:
    """LUT, BRAM_18K, URAM and DSP of one RTL MVAU (`inst`: its FINN custom op)."""
    from finn.util.basic import get_dsp_block

    pe, simd = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    wbits, abits = inst.get_input_datatype(1).bitwidth(), inst.get_input_datatype(0).bitwidth()
    lut = MVAU_LUT_PER_MAC * pe * simd + MVAU_LUT_BASE
    bram = float(inst.bram_estimation(part))
    uram = float(inst.uram_estimation(part))
    if inst.get_nodeattr("mem_mode") == "internal_decoupled" and inst.get_nodeattr("ram_style") == "distributed":
        width, depth = pe * simd * wbits, inst.calc_wmem()
        lut += width * math.ceil(depth / LUTRAM_BITS_PER_LUT)
    dsp = mvau_dsps(pe, simd, dsp_lanes(wbits, abits, part), get_dsp_block(part))
    return {"LUT": lut, "BRAM_18K": bram, "URAM": uram, "DSP": float(dsp)}


def layer_resources(model, part: str) -> dict[str, dict[str, float]]:
    """Per layer of `model`: {"LUT", "BRAM_18K", "URAM", "DSP"} and "source" ("FINN" or "frd_q")."""
    from finn.analysis.fpgadataflow.res_estimation import res_estimation
    from qonnx.custom_op.registry import getCustomOp

    finn = model.analysis(lambda m: res_estimation(m, part))
    out = {}
    for node in model.graph.node:
        if node.name not in finn:
            continue
        row = {r: float(finn[node.name].get(r, 0)) for r in ESTIMATED}
        source = "FINN"
        if node.op_type == "MVAU_rtl":
            row, source = mvau_resources(getCustomOp(node), part), "frd_q"
        elif node.op_type in STREAM_OP_LUT:
            row["LUT"], source = max(row["LUT"], STREAM_OP_LUT[node.op_type]), "frd_q"
        out[node.name] = row | {"source": source, "op": node.op_type}
    return out


def model_totals(model, part: str) -> dict[str, float]:
    per_layer = layer_resources(model, part)
    return {r: float(sum(layer[r] for layer in per_layer.values())) for r in ESTIMATED}


def fits_board(use: dict[str, float], board, fit_limit: float) -> bool:
    """Every modelled resource at most `fit_limit` of the board's capacity."""
    return all(use[r] <= fit_limit * board.capacity[r] for r in ESTIMATED)


def by_type(model, part: str) -> dict[str, dict[str, float]]:
    """Totals per layer type (FIFOs, width converters, MVAUs, ...)."""
    rows: dict[str, dict[str, float]] = {}
    for layer in layer_resources(model, part).values():
        row = rows.setdefault(layer["op"], {r: 0.0 for r in ESTIMATED} | {"layers": 0})
        row["layers"] += 1
        for r in ESTIMATED:
            row[r] += layer[r]
    return rows


def report(model, board, fit_limit: float) -> dict:
    """The whole accelerator against the board: totals (frd_q's model and FINN's), per layer type, use, fit."""
    from hw.folding import totals

    use = model_totals(model, board.part)
    finn = totals(model, board.part)
    return {"board": board.name, "fit_limit": fit_limit, "total": use, "finn_total": finn,
            "capacity": {r: board.capacity[r] for r in ESTIMATED},
            "utilization": {r: use[r] / board.capacity[r] if board.capacity[r] else None for r in ESTIMATED},
            "fits": fits_board(use, board, fit_limit), "by_type": by_type(model, board.part)}


def markdown(rep: dict) -> str:
    lines = [f"# Resources of the whole accelerator on {rep['board']} (frd_q's model, hw/resources.py)", "",
             "| layer type | layers | LUT | BRAM_18K | URAM | DSP |", "|---|---:|---:|---:|---:|---:|"]
    for op, row in sorted(rep["by_type"].items()):
        lines.append(f"| {op} | {row['layers']} | {row['LUT']:.0f} | {row['BRAM_18K']:.1f} | {row['URAM']:.0f} | "
                     f"{row['DSP']:.0f} |")
    t, f, c, u = rep["total"], rep["finn_total"], rep["capacity"], rep["utilization"]
    lines.append("| **total** | | " + " | ".join(f"**{t[r]:.0f}**" for r in ESTIMATED) + " |")
    lines.append("| FINN's estimate | | " + " | ".join(f"{f[r]:.0f}" for r in ESTIMATED) + " |")
    lines.append("| board | | " + " | ".join(str(c[r]) for r in ESTIMATED) + " |")
    lines.append("| use | | " + " | ".join("-" if u[r] is None else f"{100 * u[r]:.1f} %" for r in ESTIMATED) + " |")
    verdict = "fits" if rep["fits"] else "does NOT fit"
    lines += ["", f"The design {verdict} within {rep['fit_limit']:.0%} of every resource.", ""]
    return "\n".join(lines)


def write_report(model, build) -> dict:
    rep = report(model, build.board, build.cfg.fit_limit)
    write_json(build.folder.resources_path, rep)
    with atomic_path(build.out / "resources.md") as tmp:
        Path(tmp).write_text(markdown(rep))
    return {k: v for k, v in rep.items() if k != "by_type"}
