"""Folding (PE/SIMD per layer) for a target frame rate, from a file, or the fastest design that fits a board.

FINN's SetFolding parallelizes each layer until it needs at most `target_cycles_per_frame` cycles per tile;
the frame rate is then clock / slowest layer. "Fits" means every resource of frd_q's resource model
(hw.resources: LUT, FF, BRAM_18K, URAM, DSP, with the width converters code generation inserts and a reserve for
the FIFOs) is at most `fit_limit` of the board's capacity. Without a target, the cycle budget is raised from the
fastest folding's until a folding fits. SetFolding keeps every MVAU's weight stream per PE (SIMD * weight bits)
at most `mvau_wwidth_max` bits wide; when that, not the board, limits the design the summary says so
("limited_by": "folding limits"). After SetFolding frd_q folds what it leaves alone or folds badly: upsamplers,
RTL MVAUs at SIMD = MW (finn-plus 1.6.1's RTL MVAU loses results there under backpressure), MVAUs that pack too
few PE lanes per DSP slice, thresholds behind an MVAU at another PE, streams of no whole width ratio (their
converters are slow), weight memories too shallow for block RAM and window line buffers deep enough for it. A
folding file is applied as given (and SIMD = MW is flagged).
"""

from __future__ import annotations

import copy
import math

from hw.resources import ESTIMATED, dsp_lanes, finn_totals as totals, mvau_dsps  # noqa: F401  (totals: FINN's own)

FOLDING_ATTRS = ["PE", "SIMD", "ram_style", "resType", "mem_mode", "runtime_writeable_weights", "parallel_window"]


def fold(model, cycles: int, mvau_wwidth_max: int, part: str):
    """FINN's SetFolding. It knows the stream operators by their HLS names only, so frd_q's RTL versions (same
    PE/SIMD attributes, same cycle model) are shown to it under those names and renamed back afterwards."""
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    from hw.rtl_ops import as_hls, restore

    model = copy.deepcopy(model)
    fold_upsamplers(model, max(1, int(cycles)))  # before SetFolding, whose second pass relaxes to the slowest layer
    saved = as_hls(model)
    model = model.transform(SetFolding(target_cycles_per_frame=max(1, int(cycles)), mvau_wwidth_max=mvau_wwidth_max,
                                       two_pass_relaxation=True))
    restore(model, saved)
    avoid_simd_equals_mw(model, mvau_wwidth_max)
    fold_upsamplers(model, max(int(cycles), slowest_layer_cycles(model, skip=UNFOLDED_BY_SETFOLDING)))
    pack_dsp_lanes(model, part, mvau_wwidth_max)
    match_threshold_pe(model)
    whole_ratio_streams(model)
    place_weight_memories(model)
    place_window_buffers(model, part)
    return model


def match_threshold_pe(model) -> list[str]:
    """Give every Thresholding layer fed by an RTL MVAU that MVAU's PE. SetFolding folds each just enough for the
    cycle target (often PE 1), and the width converter FINN then puts between them turns PE accumulators a beat
    into one: a multiplexer of up to 384 -> 16 bits, 3.5 k LUTs by Yosys, where a threshold layer at the same PE
    costs a few hundred."""
    from qonnx.custom_op.registry import getCustomOp

    changed = []
    for node in model.graph.node:
        if not node.op_type.startswith("Thresholding"):
            continue
        producer = model.find_producer(node.input[0])
        if producer is None or producer.op_type != "MVAU_rtl":
            continue
        inst, pe = getCustomOp(node), getCustomOp(producer).get_nodeattr("PE")
        if inst.get_nodeattr("NumChannels") % pe == 0 and inst.get_nodeattr("PE") != pe:
            inst.set_nodeattr("PE", pe)
            changed.append(node.name)
    return changed


#: single-stream layers whose folding attribute (and the number it must divide) sets the elements of both their
#: input and output beats, so that it can be changed without touching their neighbours
STREAM_FOLDS = {"FMPadding": ("SIMD", "NumChannels"), "UpsampleNearestNeighbour": ("SIMD", "NumChannels"),
                "ConvolutionInputGenerator": ("SIMD", "IFMChannels")}


def _whole(a: int, b: int) -> bool:
    return a % b == 0 or b % a == 0


def _adjustable(node) -> tuple[str, str] | None:
    from qonnx.custom_op.registry import getCustomOp

    base = node.op_type.rsplit("_", 1)[0]
    if base not in STREAM_FOLDS:
        return None
    inst = getCustomOp(node)
    if base == "ConvolutionInputGenerator" and (inst.get_nodeattr("depthwise") or inst.get_nodeattr("parallel_window")):
        return None  # a depthwise window stream's beat order is its consumer's (pooling): no converter between them
    return STREAM_FOLDS[base]


def whole_ratio_streams(model) -> list[str]:
    """Give the layer on one side of every stream whose beats are of no whole ratio (4 elements a beat into 3) a
    fold that makes it whole, without slowing that layer down or breaking a whole ratio on its other streams.

    FINN joins such layers with a width converter (finn-rtllib's vpc) that it gives no cycles; measured in
    Verilator, it takes in beats + out beats - 1 cycles per least common multiple of the two widths instead of the
    larger of the two (16 -> 12 bits: 1.5 cycles a beat out), and one such converter behind the level-0 decoder
    concat set the full student's pace at 1.33x FINN's estimate. Only layers in STREAM_FOLDS are refolded (the
    smallest larger SIMD that divides the channels and does it), the consumer first; MVAUs keep theirs."""
    from qonnx.custom_op.registry import getCustomOp

    def beats(producer, consumer) -> tuple[int, int]:
        i = next((k for k, t in enumerate(consumer.input) if t in producer.output), 0)
        return getCustomOp(producer).get_folded_output_shape()[-1], getCustomOp(consumer).get_folded_input_shape(i)[-1]

    def neighbours(node) -> list[tuple]:
        ins = [(p, node) for p in map(model.find_producer, node.input) if p is not None]
        return ins + [(node, c) for c in model.find_consumers(node.output[0]) or []]

    def refold(side, producer, consumer) -> bool:
        """The smallest larger fold of `side` that makes producer -> consumer whole and keeps its other whole
        streams whole; False (and `side` unchanged) when there is none."""
        attr, count = _adjustable(side)
        inst = getCustomOp(side)
        now, channels = inst.get_nodeattr(attr), inst.get_nodeattr(count)
        was = {(p.name, c.name): _whole(*beats(p, c)) for p, c in neighbours(side)}
        for v in (d for d in range(now + 1, channels + 1) if channels % d == 0):
            inst.set_nodeattr(attr, v)
            if _whole(*beats(producer, consumer)) and all(
                    _whole(*beats(p, c)) or not was[(p.name, c.name)] for p, c in neighbours(side)):
                return True
        inst.set_nodeattr(attr, now)
        return False

    changed = []
    for consumer in model.graph.node:
        for producer in [p for p in map(model.find_producer, consumer.input) if p is not None]:
            if _whole(*beats(producer, consumer)):
                continue
            side = next((n for n in (consumer, producer) if _adjustable(n) and refold(n, producer, consumer)), None)
            if side is not None:
                changed.append(side.name)
    return changed


LUTRAM_MAX_DEPTH = 128  #: weight memories at most this deep go to LUTRAM, deeper ones to block RAM


def place_weight_memories(model) -> list[str]:
    """Put each RTL MVAU's weight memory (PE * SIMD * weight bits wide, MW * MH / (PE * SIMD) deep) in LUTRAM when
    it is at most LUTRAM_MAX_DEPTH deep, in block RAM otherwise. A fast folding makes weight memories wide and
    shallow: a 288-bit x 32-deep memory fills 8 BRAM_18K at 1/16 of their depth, the same bits in LUTRAM cost
    about 144 LUTs, and the block RAM is what the skip FIFOs of a U-Net need. Returns the layers put in LUTRAM."""
    from qonnx.custom_op.registry import getCustomOp

    lutram = []
    for node in model.graph.node:
        if node.op_type != "MVAU_rtl":
            continue
        inst = getCustomOp(node)
        if inst.get_nodeattr("mem_mode") != "internal_decoupled":
            continue
        depth = inst.calc_wmem()
        inst.set_nodeattr("ram_style", "distributed" if depth <= LUTRAM_MAX_DEPTH else "block")
        if depth <= LUTRAM_MAX_DEPTH:
            lutram.append(node.name)
    return lutram


WINDOW_LUTS_PER_BRAM = 500  #: a window generator's line buffer goes to block RAM when that saves this many LUTs
#: (its LUTRAM, as Yosys maps it) per BRAM_18K it takes


def place_window_buffers(model, part: str) -> list[str]:
    """Put the line buffer of every RTL window generator in block RAM where LUTRAM costs at least
    WINDOW_LUTS_PER_BRAM LUTs per BRAM_18K it would take instead, else in LUTRAM (FINN's default for them). A deep,
    narrow buffer (a pooling window's two rows of 256 pixels x 16 channels at 1 channel a beat) is 1 024 LUTs of
    LUTRAM or 2 BRAM_18K; a shallow or wide one fills block RAM badly. Returns the generators put in block RAM."""
    from qonnx.custom_op.registry import getCustomOp

    from hw.resources import lutram_luts, window_buffer

    block = []
    for node in model.graph.node:
        if node.op_type != "ConvolutionInputGenerator_rtl":
            continue
        inst = getCustomOp(node)
        inst.set_nodeattr("ram_style", "block")
        brams = inst.bram_estimation(part)
        saved = lutram_luts(*window_buffer(inst), part)
        if brams and saved >= WINDOW_LUTS_PER_BRAM * brams:
            block.append(node.name)
        else:
            inst.set_nodeattr("ram_style", "distributed")
    return block


UNFOLDED_BY_SETFOLDING = ("UpsampleNearestNeighbour",)  #: layer types SetFolding leaves at SIMD 1


def fold_upsamplers(model, cycles: int) -> list[str]:
    """SetFolding leaves nearest-neighbour upsampling at SIMD 1 (one channel per beat): at full resolution that made
    it the slowest layer of the Siamese student (32 channels x 65 536 pixels per tile). frd_q's RTL upsampler takes
    any SIMD that divides the channels: the smallest one that meets `cycles`, or all channels at once."""
    from qonnx.custom_op.registry import getCustomOp

    changed = []
    for node in model.graph.node:
        if not node.op_type.startswith("UpsampleNearestNeighbour"):
            continue
        inst = getCustomOp(node)
        channels = inst.get_nodeattr("NumChannels")
        for simd in (d for d in range(1, channels + 1) if channels % d == 0):
            inst.set_nodeattr("SIMD", simd)
            if inst.get_exp_cycles() <= cycles:
                break
        changed.append(node.name)
    return changed


def _feed(model, node, default: int) -> int:
    """Elements per beat that `node`'s producer emits (its folded output's last dimension)."""
    from qonnx.custom_op.registry import getCustomOp

    producer = model.find_producer(node.input[0])
    return getCustomOp(producer).get_folded_output_shape()[-1] if producer is not None else default


def _simd_choices(model, node, mw: int, wbits: int, mvau_wwidth_max: int, default_feed: int) -> list[int]:
    """The SIMDs an RTL MVAU may take: proper divisors of MW (1 when MW is 1), a weight stream per PE within
    `mvau_wwidth_max`, and a whole ratio to what its producer emits a beat."""
    feed = _feed(model, node, default_feed)
    return [d for d in range(1, mw + 1) if mw % d == 0 and (d < mw or mw == 1) and d * wbits <= mvau_wwidth_max
            and _whole(d, feed)]


def pack_dsp_lanes(model, part: str, mvau_wwidth_max: int) -> list[str]:
    """Refold every RTL MVAU to the PE/SIMD that needs the fewest DSP slices without becoming slower.

    SetFolding raises SIMD first, then PE; finn-rtllib's RTL MVAU packs up to `dsp_lanes` PEs into one DSP48
    slice, so PE 1 x SIMD 72 costs 72 DSPs where PE 4 x SIMD 18 does the same work per cycle with 18. Each layer
    keeps its cycles per tile (or gets faster), its weight stream per PE within `mvau_wwidth_max`, SIMD a proper
    divisor of MW (finn-rtllib's SIMD = MW fault, docs/sim.md) and an input width that is a whole multiple or
    divisor of its producer's, so the width converter FINN inserts between them stays an RTL one."""
    from finn.util.basic import get_dsp_block
    from qonnx.custom_op.registry import getCustomOp

    block = get_dsp_block(part)
    changed = []
    for node in model.graph.node:
        if node.op_type != "MVAU_rtl":
            continue
        inst = getCustomOp(node)
        mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
        pe0, simd0 = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
        wbits, abits = inst.get_input_datatype(1).bitwidth(), inst.get_input_datatype(0).bitwidth()
        lanes = dsp_lanes(wbits, abits, part)
        budget = (mw // simd0) * (mh // pe0)  # folds per pixel now
        options = []
        for simd in _simd_choices(model, node, mw, wbits, mvau_wwidth_max, simd0):
            for pe in (d for d in range(1, mh + 1) if mh % d == 0):
                if (mw // simd) * (mh // pe) <= budget:
                    options.append((mvau_dsps(pe, simd, lanes, block), pe * simd, simd, pe))
                    break  # the smallest PE that keeps the speed: more PEs only cost
        if not options:
            continue
        _, _, simd, pe = min(options)
        if (pe, simd) != (pe0, simd0) and mvau_dsps(pe, simd, lanes, block) < mvau_dsps(pe0, simd0, lanes, block):
            inst.set_nodeattr("PE", pe)
            inst.set_nodeattr("SIMD", simd)
            changed.append(node.name)
    return changed


def avoid_simd_equals_mw(model, mvau_wwidth_max: int) -> list[str]:
    """Refold every RTL MVAU that SetFolding left at SIMD = MW (> 1) to a proper divisor of MW, with a PE that keeps
    it as fast (the fewest multipliers that do; the fastest possible when none does); returns the refolded layers.
    The weight stream per PE stays within `mvau_wwidth_max` (SIMD * weight bits, SetFolding's rule).

    finn-plus 1.6.1's RTL MVAU loses results at SIMD = MW as soon as its output is held back for ~9 cycles
    (docs/sim.md), and in a branching graph with sized FIFOs the skip FIFOs hold the encoder back by design.
    The new SIMD is a multiple or a divisor of what its producer emits a beat: a width converter between widths
    of no whole ratio (8 -> 9 elements) passes a pixel's beats in and out one after the other, measured 1.77x
    slower than FINN's slowest layer on the full student (FINN gives width converters no cycles)."""
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
        folds = mh // inst.get_nodeattr("PE")
        options = [((mw // simd) * (mh // pe), pe * simd, simd, pe)
                   for simd in _simd_choices(model, node, mw, wbits, mvau_wwidth_max, mw)
                   for pe in range(1, mh + 1) if mh % pe == 0]
        if not options:
            continue
        as_fast = [(macs, simd, f, pe) for f, macs, simd, pe in options if f <= folds]
        if as_fast:
            _, simd, _, pe = min(as_fast)  # the fewest multipliers, then the narrower SIMD
        else:
            _, _, simd, pe = min(options)  # the fewest cycles, then the fewest multipliers
        inst.set_nodeattr("SIMD", simd)
        inst.set_nodeattr("PE", pe)
        changed.append(node.name)
    return changed


def slowest_layer_cycles(model, skip: tuple[str, ...] = ()) -> int:
    from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer

    ops = {n.name: n.op_type for n in model.graph.node}
    return max(c for name, c in model.analysis(exp_cycles_per_layer).items() if not ops[name].startswith(skip))


def fits(model, board, fit_limit: float) -> bool:
    """Judged on frd_q's resource model (hw.resources: FINN's estimates plus the RTL MVAU's LUTs, FFs and DSP lanes,
    with the width converters code generation will insert), leaving FIFO_RESERVE of the LUTs and FFs for the FIFOs
    that are sized after folding."""
    from hw.resources import FIFO_RESERVE, fits_board, folded_totals

    return fits_board(folded_totals(model, board.part), board, fit_limit, FIFO_RESERVE)


def fastest_fitting(model, board, fit_limit: float, wmax: int, step: float = 1.1):
    """(folded model, cycles per tile, what limits it) of the fastest folding that fits; None if even the slowest
    does not fit. The limit is "resources", or "folding limits" when the most parallel folding SetFolding can make
    (bounded by mvau_wwidth_max and by layers it cannot fold) fits anyway.

    The cycle target is raised from the fastest folding's by `step` at a time until a folding fits: the cost is
    not monotonic in the target (a folding's width converters, which the fit counts, depend on how neighbouring
    layers happen to fold), so a bisection could end far below the fastest fitting design."""
    slow = fold(model, 10**12, wmax, board.part)
    if not fits(slow, board, fit_limit):
        return None
    fast = fold(model, 1, wmax, board.part)
    if fits(fast, board, fit_limit):
        return fast, slowest_layer_cycles(fast), "folding limits"
    target, top = float(slowest_layer_cycles(fast)), slowest_layer_cycles(slow)
    while target < top:
        target *= step
        candidate = fold(model, target, wmax, board.part)
        if fits(candidate, board, fit_limit):
            return candidate, slowest_layer_cycles(candidate), "resources"
    return slow, top, "resources"


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
        model = fold(model, clock_hz / cfg.target_fps, wmax, board.part)
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
