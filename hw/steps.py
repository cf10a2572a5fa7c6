"""The FINN flow as named steps: `step(model, build) -> model`, each a docstring and a chain of transformations.

    export              checkpoint -> QONNX (frd_q.export), pixels in as (1, H, W, C) integers
    qonnx_to_finn       one weight Quant per consumer, QONNX -> FINN-ONNX, tidy-up, uint8 pixel inputs
    streamline          FINN streamlining plus frd_q's reorder passes for |A - B|, max pooling and upsampling
    convert_to_hw       FINN hardware layers (thresholds standalone, so MVAUs can take the RTL backend)
    dataflow_partition  the accelerator subgraph; the host keeps the output scale and layout change
    specialize          HLS or RTL backend per layer for the board's part (FINN's choice: RTL where it has one,
                        except MVAUs under 4 bits)
    folding             PE/SIMD for the target FPS (or a folding file; or the fastest design that fits)
    estimates           per-layer resources and cycles against the board's capacity
    codegen             width converters, FIFOs, RTL and HLS sources for every layer
    fifo_sizing         FIFO depths of a branching all-RTL graph from Verilator simulation (hw.fifo_sizing)
    hls_ipgen           Vitis HLS synthesis of the HLS layers                      (needs vitis_hls)
    stitched_ip         one IP block of the whole accelerator                      (needs vivado)
    bitfile             Zynq shell and bitstream                                    (needs vivado)

`hw.flow.run_flow` runs them in order, saving `intermediate/NN_<step>.onnx` and timings after each.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import (
    GiveReadableTensorNames,
    GiveUniqueNodeNames,
    RemoveStaticGraphInputs,
    RemoveUnusedTensors,
)
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul
from qonnx.util.cleanup import cleanup_model

from hw.finn_env import require_tool
from hw.graph import backend, has_hls_layers
from hw.transforms import (
    DuplicateForkedWeightQuant,
    KeepUnsupportedHLS,
    MarkInputLayouts,
    MoveLinearPastAbs,
    MoveLinearPastSub,
    MoveMulPastSpatialOp,
    RemoveIdentityThresholds,
)

MAX_STREAMLINE_ROUNDS = 6  #: rounds of (FINN streamline + frd_q reorder) before giving up on a fixed point


def _tidy(model: ModelWrapper) -> ModelWrapper:
    for t in (GiveUniqueNodeNames(), GiveReadableTensorNames(), InferDataTypes(), MarkInputLayouts(), InferDataLayouts()):
        model = model.transform(t)
    return model


def _signature(model: ModelWrapper) -> list[str]:
    return [n.op_type for n in model.graph.node]


def step_export(model, build):
    """Remove rounding near-ties and export the checkpoint's student to QONNX for tile x tile pixel inputs; the
    tie-free checkpoint (model.pt) is the reference the hardware is checked against."""
    from frd_q.export import export_checkpoint

    result = export_checkpoint(build.cfg.checkpoint, build.cfg.tile, build.out / "model.onnx", rows=build.cfg.rows)
    build.summary.hw_checkpoint = str(result["checkpoint"])
    build.summary.tie_removal = result["ties"]
    return ModelWrapper(str(result["onnx"]))


def step_qonnx_to_finn(model, build):
    """Duplicate forked weight quantizers, convert QONNX to FINN-ONNX, mark the inputs as uint8 NHWC pixels."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN

    model = model.transform(DuplicateForkedWeightQuant())
    model = cleanup_model(model)
    model = model.transform(ConvertQONNXtoFINN())
    for t in (InferShapes(), FoldConstants(), GiveUniqueNodeNames(), GiveReadableTensorNames(), InferDataTypes(),
              RemoveStaticGraphInputs()):
        model = model.transform(t)
    for inp in model.graph.input:
        model.set_tensor_datatype(inp.name, DataType["UINT8"])
    return model.transform(MarkInputLayouts())


def step_streamline(model, build):
    """FINN streamlining, convolutions lowered to Im2Col + MatMul in NHWC, and frd_q's reorder passes, repeated
    until the graph stops changing: scales and transposes move below |A - B|, max pooling and upsampling and are
    absorbed into the next thresholds; the identity thresholds of the pixel quantizer are removed."""
    import finn.transformation.streamline.absorb as absorb
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline import reorder as finn_reorder

    model = model.transform(absorb.AbsorbScalarBiasIntoMultiThreshold())
    model = model.transform(Streamline())
    model = model.transform(LowerConvsToMatMul())
    for _ in range(MAX_STREAMLINE_ROUNDS):
        before = _signature(model)
        for t in (
            finn_reorder.MakeMaxPoolNHWC(),
            absorb.AbsorbTransposeIntoMultiThreshold(),
            absorb.AbsorbConsecutiveTransposes(),
            finn_reorder.MoveOpPastFork(["Mul", "Transpose"]),
            MoveLinearPastSub(),
            MoveLinearPastAbs(),
            MoveMulPastSpatialOp(),
            finn_reorder.MoveMulPastJoinConcat(),
            finn_reorder.MakeScaleResizeNHWC(),
            finn_reorder.MoveTransposePastJoinConcat(),
            absorb.AbsorbTransposeIntoMultiThreshold(),
            absorb.AbsorbConsecutiveTransposes(),
            Streamline(),
            RemoveIdentityThresholds(),
        ):
            model = model.transform(t)
        model = _tidy(model)
        if _signature(model) == before:
            break
    return model.transform(RemoveUnusedTensors())


def step_convert_to_hw(model, build):
    """Map nodes to FINN hardware layers. Thresholds are converted first, so every MVAU is a plain matrix-vector
    unit (the RTL MVAU has no built-in activation) followed by a Thresholding layer. Then thresholds that sit on
    an integer (rounding ties) are counted into the summary, and all are rounded up to integers."""
    from finn.transformation.fpgadataflow.convert_to_hw import (
        concat,
        conv_inp_gen,
        duplicate_streams,
        elementwise_binary_operation,
        pool,
        quantized_matrix_vector_activation,
        thresholding,
        upsample,
    )
    from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds

    for t in (
        thresholding.InferThresholdingLayer(),
        quantized_matrix_vector_activation.InferQuantizedMatrixVectorActivation(),
        pool.InferPool(),  # max pooling becomes Im2Col + Pool: before the Im2Col conversion
        conv_inp_gen.InferConvInpGen(),
        upsample.InferUpsample(),
        concat.InferConcatLayer(),
        # only the fusion's Sub (with its Abs: AbsDiff); the output scale and bias stay on the host
        elementwise_binary_operation.InferElementwiseBinaryOperation(lambda model, node: node.op_type == "Sub"),
        duplicate_streams.InferDuplicateStreamsLayer(),
    ):
        model = model.transform(t)
    model = _tidy(model.transform(InferShapes()))
    build.summary.threshold_ties = threshold_ties(model)
    # integer inputs: x >= t  <=>  x >= ceil(t), as the hardware layers need; out-of-range thresholds are clipped
    return model.transform(RoundAndClipThresholds())


def threshold_ties(model: ModelWrapper, tol: float = 1e-3) -> dict[str, dict]:
    """Per Thresholding layer: the smallest distance of a threshold (inside its integer input's range) to an
    integer, and how many lie within `tol` of one. There PyTorch's float rounding and FINN's `x >= ceil(t)` can
    disagree; frd_q.export.ties keeps the conv-BN thresholds at least 0.03 accumulator units away."""
    report = {}
    for node in model.graph.node:
        t = model.get_initializer(node.input[1]) if node.op_type.startswith("Thresholding") else None
        idt = model.get_tensor_datatype(node.input[0]) if t is not None else None
        if t is None or not idt.is_integer():
            continue
        t = t.astype(np.float64)
        t = t[(t > idt.min()) & (t <= idt.max())]  # outside the input range a threshold never/always fires
        if t.size:
            distance = np.abs(t - np.round(t))
            report[node.name] = {"closest": round(float(distance.min()), 5), "ties": int((distance < tol).sum())}
    return report


def step_dataflow_partition(model, build):
    """Cut the hardware layers out into the accelerator model; the rest (output scale, layout) stays on the host."""
    from finn.transformation.fpgadataflow.create_dataflow_partition import CreateDataflowPartition
    from qonnx.custom_op.registry import getCustomOp

    parent = model.transform(CreateDataflowPartition(partition_model_dir=str(build.out / "partitions")))
    parent.save(str(build.out / "dataflow_parent.onnx"))
    partitions = parent.get_nodes_by_op_type("StreamingDataflowPartition")
    if len(partitions) != 1:
        raise build.error(f"expected one dataflow partition, got {len(partitions)}: the graph has host nodes "
                          "between hardware layers")
    return ModelWrapper(getCustomOp(partitions[0]).get_nodeattr("model"))


def step_specialize(model, build):
    """Choose each layer's backend for the board's part, as FINN's SpecializeLayers does by default: RTL for every
    layer type that has an RTL backend, except MVAUs with weights or inputs under 4 bits, which FINN builds as its
    LUT-based HLS MVAU (the RTL MVAU is DSP-based). The stream operators finn-plus has only in HLS
    (DuplicateStreams, StreamingConcat, ElementwiseAbsDiff, UpsampleNearestNeighbour, max Pool) get frd_q's RTL
    (hw.rtl_ops, registered by the FINN session); the nodes its cores cannot do keep HLS (KeepUnsupportedHLS)."""
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    model = model.transform(KeepUnsupportedHLS())
    return _tidy(model.transform(SpecializeLayers(build.board.part)))


def step_folding(model, build):
    """Set PE/SIMD: from a folding file, for a target FPS, or for the fastest design that fits the board."""
    from hw.folding import apply_folding

    return apply_folding(model, build)


def step_estimates(model, build):
    """Resource and cycle estimates per layer, totals against the board, FPS and latency; writes estimates.json/.md."""
    from hw.report import write_estimates

    build.summary.estimates = write_estimates(model, build)
    return model


def step_codegen(model, build):
    """Insert width converters and FIFOs, generate every layer's RTL or HLS sources, list them in hdl/filelist.txt."""
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from finn.transformation.fpgadataflow.insert_fifo import InsertFIFO
    from finn.transformation.fpgadataflow.prepare_ip import PrepareIP
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    model = model.transform(InsertDWC())
    model = model.transform(InsertFIFO(create_shallow_fifos=True))
    model = model.transform(SpecializeLayers(build.board.part))
    model = model.transform(GiveUniqueNodeNames())
    model = model.transform(PrepareIP(build.board.part, build.clock_ns))
    build.summary.hdl = collect_sources(model, build.folder.hdl)
    return model


def collect_sources(model: ModelWrapper, dest: Path) -> dict:
    """Copy every layer's generated code folder to dest/<layer>/ and write dest/filelist.txt; returns counts."""
    from qonnx.custom_op.registry import getCustomOp

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files, backends = [], {"rtl": [], "hls": []}
    for node in model.graph.node:
        src = Path(getCustomOp(node).get_nodeattr("code_gen_dir_ipgen"))
        backends["rtl" if backend(node.op_type) == "rtl" else "hls"].append(node.name)
        shutil.copytree(src, dest / node.name)
        files += sorted(str(p.relative_to(dest)) for p in (dest / node.name).rglob("*") if p.is_file())
    (dest / "filelist.txt").write_text("\n".join(files) + "\n")
    return {"files": len(files), "rtl_layers": backends["rtl"], "hls_layers": backends["hls"]}


def step_fifo_sizing(model, build):
    """Size the FIFOs of a branching all-RTL graph (a Siamese student: forks, skips, joins) by simulating the
    stitched RTL in Verilator (hw.fifo_sizing), so that the accelerator cannot deadlock; writes fifo_sizing.json.
    A straight graph keeps FINN's shallow FIFOs; a graph with HLS layers cannot be simulated and keeps them too."""
    from frd_q.fsutil import write_json
    from hw.fifo_sizing import FifoSizing, SizingSettings, branches, size_fifos

    if build.cfg.fifo_sizing is FifoSizing.OFF:
        reason = "switched off (--fifo-sizing off)"
    elif not branches(model):
        reason = "straight graph: FINN's shallow FIFOs cannot deadlock"
    elif has_hls_layers(model):
        reason = "HLS layers left: the graph cannot be simulated with open tools"
    else:
        reason = None
    if reason is not None:
        build.summary.fifo_sizing = {"sized": False, "reason": reason}
        if branches(model):
            build.notes.append(f"FIFOs not sized ({reason}): FINN's depth-2 FIFOs can deadlock a branching graph")
        return _resources(model, build)
    settings = SizingSettings(build.cfg.fifo_sizing)
    progress = lambda *a: print(*a, flush=True)  # noqa: E731  (into finn.log)
    rows = build.cfg.rows or build.cfg.tile
    if settings.rate and 0 < settings.band_rows < rows:
        # the FIFOs' depths depend on rows of latency x the row width, not on the number of rows: simulate a band
        t0 = time.time()
        band = build.band_model(settings.band_rows)
        band_s = round(time.time() - t0, 1)
        result = size_fifos(band, build.out / "band", build.board.part, build.clock_ns, settings,
                            cache=build.folder.sim_cache, log=progress, apply_to=(model, build.folder.hdl),
                            uram=build.board.uram > 0)
        result["sized_on"] = f"a {settings.band_rows}x{build.cfg.tile} band of the {rows}x{build.cfg.tile} tile"
        result["band_build_s"] = band_s
    else:
        result = size_fifos(model, build.out, build.board.part, build.clock_ns, settings,
                            cache=build.folder.sim_cache, log=progress, uram=build.board.uram > 0)
        result["sized_on"] = f"the {rows}x{build.cfg.tile} tile"
    write_json(build.folder.fifo_sizing_path, result)
    t = result["total"]
    build.summary.fifo_sizing = {"sized": True, "mode": build.cfg.fifo_sizing.value, "deep": result["deep"], "total": t,
                                 "wall_s": result["wall_s"], "sized_on": result["sized_on"]}
    build.notes.append(f"FIFOs sized by Verilator simulation: {result['deep']} of {len(result['fifos'])} deeper than "
                       f"FINN's, {t['bits'] / 8192:.1f} KiB in all (FINN's cost for them: {t['finn_bram_18k']:.0f} "
                       f"BRAM_18K, {t['finn_uram']:.0f} URAM, {t['finn_lut']:.0f} LUT); fifo_sizing.json")
    return _resources(model, build)


def _resources(model, build):
    """frd_q's resource model of the generated accelerator (FIFOs and width converters included) against the
    board; resources.json/.md, and a note when it does not fit."""
    from hw.resources import write_report

    rep = build.summary.resources = write_report(model, build)
    if not rep["fits"]:
        over = [r for r, u in rep["utilization"].items() if u is not None and u > rep["fit_limit"]]
        build.notes.append(f"with FIFOs and width converters the design does not fit {build.board.name} within "
                           f"{rep['fit_limit']:.0%} ({', '.join(over)}): resources.md; try a lower --target-fps")
    return model


def step_hls_ipgen(model, build):
    """Synthesize the HLS layers with Vitis HLS (FINN's HLSSynthIP)."""
    from finn.transformation.fpgadataflow.hlssynth_ip import HLSSynthIP
    from finn.transformation.fpgadataflow.replace_verilog_relpaths import ReplaceVerilogRelPaths

    if not has_hls_layers(model):
        return model  # an all-RTL accelerator has nothing to synthesize with HLS
    require_tool("vitis_hls", "hls_ipgen")
    model = model.transform(HLSSynthIP(build.board.part))
    return model.transform(ReplaceVerilogRelPaths())


def step_stitched_ip(model, build):
    """Stitch all layers into one Vivado IP block (FINN's CreateStitchedIP)."""
    from finn.transformation.fpgadataflow.create_stitched_ip import CreateStitchedIP

    require_tool("vivado", "stitched_ip")
    return model.transform(CreateStitchedIP(build.board.part, build.clock_ns))


def step_bitfile(model, build):
    """Build the Zynq shell and bitstream around the stitched IP (FINN's ZynqBuild)."""
    from finn.transformation.fpgadataflow.make_zynq_proj import ZynqBuild

    require_tool("vivado", "bitfile")
    if build.board.finn_platform is None:
        raise build.error(f"board {build.board.name} has no FINN shell: integrate the stitched IP "
                          f"({build.out}/stitched_ip) into your payload design")
    model = model.transform(ZynqBuild(build.board.finn_platform, build.clock_ns))
    (build.out / "bitfile.json").write_text(json.dumps({"board": build.board.name}, indent=2))
    return model


STEPS = [
    ("export", step_export),
    ("qonnx_to_finn", step_qonnx_to_finn),
    ("streamline", step_streamline),
    ("convert_to_hw", step_convert_to_hw),
    ("dataflow_partition", step_dataflow_partition),
    ("specialize", step_specialize),
    ("folding", step_folding),
    ("estimates", step_estimates),
    ("codegen", step_codegen),
    ("fifo_sizing", step_fifo_sizing),
    ("hls_ipgen", step_hls_ipgen),
    ("stitched_ip", step_stitched_ip),
    ("bitfile", step_bitfile),
]
STEP_NAMES = [name for name, _ in STEPS]
TOOL_STEPS = {"hls_ipgen": "vitis_hls", "stitched_ip": "vivado", "bitfile": "vivado"}
