"""Folding (PE/SIMD per layer) for a target frame rate, from a file, or the fastest design that fits a board.

FINN's SetFolding parallelizes each layer until it needs at most `target_cycles_per_frame` cycles per tile;
the frame rate is then clock / slowest layer. "Fits" means every resource FINN estimates (LUT, BRAM_18K, URAM,
DSP; FINN does not estimate FFs) is at most `fit_limit` of the board's capacity. Without a target, a bisection
over the cycle budget finds the fastest design that fits. SetFolding keeps every MVAU's weight stream
(PE * SIMD * weight bits) at most `mvau_wwidth_max` bits wide; when that, not the board, limits the design the
summary says so ("limited_by": "folding limits") and a larger --mvau-wwidth-max trades BRAM for speed. RTL MVAUs
are never folded to SIMD = MW (finn-plus 1.6.1's RTL MVAU loses results there under backpressure): such a layer
gets a smaller SIMD and a larger PE. A folding file is applied as given (and SIMD = MW is flagged).
"""

from __future__ import annotations

import copy
import math

from hw.boards import RESOURCES

ESTIMATED = [r for r in RESOURCES if r != "FF"]  #: the resources FINN's estimates cover
FOLDING_ATTRS = ["PE", "SIMD", "ram_style", "resType", "mem_mode", "runtime_writeable_weights", "parallel_window"]


def fold(model, cycles: int, mvau_wwidth_max: int):
    """FINN's SetFolding. It knows the stream operators by their HLS names only, so frd_q's RTL versions (same
    PE/SIMD attributes, same cycle model) are shown to it under those names and renamed back afterwards."""
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    from hw.rtl_ops import as_hls, restore

    model = copy.deepcopy(model)
    saved = as_hls(model)
    model = model.transform(SetFolding(target_cycles_per_frame=max(1, int(cycles)), mvau_wwidth_max=mvau_wwidth_max,
                                       two_pass_relaxation=True))
    restore(model, saved)
    avoid_simd_equals_mw(model, mvau_wwidth_max)
    return model


def avoid_simd_equals_mw(model, mvau_wwidth_max: int) -> list[str]:
    """Refold every RTL MVAU that SetFolding left at SIMD = MW (> 1) to a proper divisor of MW, with the PE that
    keeps it as fast as possible within the weight-stream limit; returns the refolded layers.

    finn-plus 1.6.1's RTL MVAU loses results at SIMD = MW as soon as its output is held back for ~9 cycles
    (docs/sim.md), and in a branching graph with sized FIFOs the skip FIFOs hold the encoder back by design."""
    from qonnx.custom_op.registry import getCustomOp

    changed = []
    for node in model.graph.node:
        if node.op_type != "MVAU_rtl":
            continue
        inst = getCustomOp(node)
        mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
        if mw == 1 or inst.get_nodeattr("SIMD") != mw:
            continue
        wbits = inst.get_input_datatype(1).bitwidth()
        options = [((mw // simd) * (mh // pe), pe * simd, simd, pe)
                   for simd in range(1, mw) if mw % simd == 0
                   for pe in range(1, mh + 1) if mh % pe == 0 and pe * simd * wbits <= mvau_wwidth_max]
        _, _, simd, pe = min(options)  # fewest cycles, then the narrowest weight stream
        inst.set_nodeattr("SIMD", simd)
        inst.set_nodeattr("PE", pe)
        changed.append(node.name)
    return changed


def totals(model, part: str) -> dict[str, float]:
    from finn.analysis.fpgadataflow.res_estimation import res_estimation

    per_layer = model.analysis(lambda m: res_estimation(m, part))
    return {r: float(sum(layer.get(r, 0) for layer in per_layer.values())) for r in ESTIMATED}


def slowest_layer_cycles(model) -> int:
    from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer

    return max(model.analysis(exp_cycles_per_layer).values())


def fits(model, board, fit_limit: float) -> bool:
    use = totals(model, board.part)
    return all(use[r] <= fit_limit * board.capacity[r] for r in ESTIMATED)


def fastest_fitting(model, board, fit_limit: float, wmax: int, steps: int = 12):
    """(folded model, cycles per tile, what limits it) of the fastest folding that fits; None if even the slowest
    does not fit. The limit is "resources", or "folding limits" when the most parallel folding SetFolding can make
    (bounded by mvau_wwidth_max and by layers it cannot fold) fits anyway."""
    slow = fold(model, 10**12, wmax)
    if not fits(slow, board, fit_limit):
        return None
    fast = fold(model, 1, wmax)
    if fits(fast, board, fit_limit):
        return fast, slowest_layer_cycles(fast), "folding limits"
    lo, hi = 1.0, float(slowest_layer_cycles(slow))  # lo: fully parallel budget, hi: fully folded
    best = slow
    for _ in range(steps):
        if hi / lo < 1.05:
            break
        mid = math.sqrt(lo * hi)
        candidate = fold(model, mid, wmax)
        if fits(candidate, board, fit_limit):
            best, hi = candidate, mid
        else:
            lo = mid
    return best, slowest_layer_cycles(best), "resources"


def fully_unfolded_mvaus(model) -> list[str]:
    """MVAU layers folded to SIMD = MW (one output per cycle): the case finn-rtllib's RTL MVAU mishandles."""
    from qonnx.custom_op.registry import getCustomOp

    out = []
    for node in model.graph.node:
        if node.op_type == "MVAU_rtl":
            inst = getCustomOp(node)
            if inst.get_nodeattr("MW") > 1 and inst.get_nodeattr("SIMD") == inst.get_nodeattr("MW"):
                out.append(node.name)
    return out


def apply_folding(model, build):
    from finn.transformation.fpgadataflow.minimize_accumulator_width import MinimizeAccumulatorWidth
    from finn.transformation.fpgadataflow.minimize_weight_bit_width import MinimizeWeightBitWidth
    from finn.transformation.general import ApplyConfig
    from finn.util.config import extract_model_config_to_json

    cfg, board, clock_hz = build.cfg, build.board, 1e9 / build.clock_ns
    wmax = cfg.mvau_wwidth_max
    info = {"mvau_wwidth_max": wmax}
    if cfg.folding is not None:
        if not cfg.folding.is_file():
            raise build.error(f"{cfg.folding}: folding file not found")
        model = model.transform(ApplyConfig(str(cfg.folding)))
        info["mode"] = f"file {cfg.folding}"
    elif cfg.target_fps is not None:
        model = fold(model, clock_hz / cfg.target_fps, wmax)
        info["mode"] = f"target {cfg.target_fps:g} FPS"
        info["requested_fps"] = cfg.target_fps
    else:
        found = fastest_fitting(model, board, cfg.fit_limit, wmax)
        if found is None:
            raise build.error(f"even the most folded design does not fit {board.name} within "
                              f"{cfg.fit_limit:.0%} of its resources: choose a larger board or a smaller student")
        model, _, info["limited_by"] = found
        info["mode"] = f"fastest design within {cfg.fit_limit:.0%} of {board.name}"
    info["fps"] = clock_hz / slowest_layer_cycles(model)
    info["fits"] = fits(model, board, cfg.fit_limit)
    if not info["fits"]:
        found = fastest_fitting(model, board, cfg.fit_limit, wmax)
        info["max_fitting_fps"] = None if found is None else clock_hz / found[1]
        build.notes.append(f"the design does not fit {board.name} within {cfg.fit_limit:.0%} of its resources at "
                           f"{info['fps']:.1f} FPS; the fastest design that fits runs at "
                           f"{info['max_fitting_fps'] or 0:.1f} FPS")
    unfolded = fully_unfolded_mvaus(model)
    if unfolded:
        info["mvau_simd_equals_mw"] = unfolded
        build.notes.append(f"{', '.join(unfolded)}: SIMD = MW (one result per cycle); finn-plus 1.6.1's RTL MVAU output "
                           "queue is 2 entries short for this under backpressure and corrupts results (found by frd-q "
                           "verify, docs/sim.md): the folding file asks for it; frd_q's own folding avoids it")
    model = model.transform(MinimizeWeightBitWidth())
    model = model.transform(MinimizeAccumulatorWidth())
    extract_model_config_to_json(model, str(build.out / "folding_config.json"), FOLDING_ATTRS)
    build.summary.folding = info
    return model
