"""How fast finn-rtllib's stream width converter (StreamingDataWidthConverter_rtl, its `vpc` core) runs, in Verilator.

    .venv/bin/python bench/converter_rate.py [--ratios 16:8,16:12,12:16,16:24,24:16] [--pixels 16]

One converter per ratio (in:out bits, 4-bit elements), two frames of PIXELS x PIXELS x 48 random elements streamed
without stalls; prints per ratio the cycles per frame, the beats on each side, the cycles per beat of the busier
side and the mismatches (elements out != in). FINN gives converters no cycles; a whole ratio runs at one beat a
cycle on its busier side, others do not (docs/rtl.md, "Folding: what limited the speed"), which is why
hw.folding.whole_ratio_streams avoids them.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

CHANNELS = 48
PART = "xczu7ev-ffvc1156-2-e"


def converter_build(root: Path, in_bits: int, out_bits: int, shape: list[int]):
    """A one-layer build folder (intermediate/08_codegen.onnx + hdl/) holding one RTL width converter."""
    from onnx import TensorProto, helper
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp
    from qonnx.util.basic import qonnx_make_model

    name = "StreamingDataWidthConverter_rtl_0"
    node = helper.make_node("StreamingDataWidthConverter_rtl", ["in0"], ["out0"], name=name,
                            domain="finn.custom_op.fpgadataflow.rtl", backend="fpgadataflow", inShape=shape,
                            outShape=shape, inWidth=in_bits, outWidth=out_bits, dataType="UINT4")
    vi = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)  # noqa: E731
    model = ModelWrapper(qonnx_make_model(helper.make_graph([node], "converter", [vi("in0")], [vi("out0")])))
    for n in ("in0", "out0"):
        model.set_tensor_datatype(n, DataType["UINT4"])
    hdl = root / "hdl" / name
    hdl.mkdir(parents=True)
    (root / "intermediate").mkdir()
    inst = getCustomOp(model.graph.node[0])
    inst.set_nodeattr("code_gen_dir_ipgen", str(hdl))
    inst.generate_hdl(model, PART, 5.0)
    model.save(str(root / "intermediate" / "08_codegen.onnx"))
    return model


def measure(root: Path, in_bits: int, out_bits: int, pixels: int) -> dict:
    from hw.rtlsim.accelerator import Accelerator

    shape = [1, pixels, pixels, CHANNELS]
    model = converter_build(root, in_bits, out_bits, shape)
    rng = np.random.default_rng(0)
    frames = [[rng.integers(0, 16, size=shape).astype(np.float32)] for _ in range(2)]
    got, stats = Accelerator(root).run([model.graph.node[0].name], frames, in_stall=0.0, out_stall=0.0, seed=1)
    ends = stats["frame_end"][0]
    bits = pixels * pixels * CHANNELS * 4
    beats_in, beats_out = bits // in_bits, bits // out_bits
    return {"ratio": f"{in_bits}:{out_bits}", "cycles": ends[1] - ends[0], "beats_in": beats_in,
            "beats_out": beats_out, "per_beat": (ends[1] - ends[0]) / max(beats_in, beats_out),
            "whole": in_bits % out_bits == 0 or out_bits % in_bits == 0,
            "mismatches": sum(int((g[0] != f[0].reshape(g[0].shape)).sum()) for g, f in zip(got, frames))}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ratios", default="16:8,16:12,12:16,16:24,24:16", help="in:out bits, comma separated")
    p.add_argument("--pixels", type=int, default=16, help="frame side in pixels (48 channels of 4 bits each)")
    args = p.parse_args()
    from hw.finn_env import finn_session
    from hw.rtl_ops import register

    print(f"{'in:out bits':>11} {'whole':>5} {'cycles/frame':>12} {'beats in':>8} {'beats out':>9} "
          f"{'cycles/beat':>11} {'lcm model':>9} {'mismatches':>10}")
    with tempfile.TemporaryDirectory(prefix="frd-dwc-") as tmp:
        for k, ratio in enumerate(args.ratios.split(",")):
            i, o = (int(v) for v in ratio.split(":"))
            root = Path(tmp) / f"r{k}"
            with finn_session(root / "finn"):
                register()
                r = measure(root, i, o, args.pixels)
            lcm = math.lcm(i, o)
            model = (lcm // i + lcm // o - 1) * (r["beats_in"] * i // lcm)  # cycles per lcm group x groups
            print(f"{r['ratio']:>11} {str(r['whole']):>5} {r['cycles']:>12} {r['beats_in']:>8} {r['beats_out']:>9} "
                  f"{r['per_beat']:>11.3f} {model:>9} {r['mismatches']:>10}")


if __name__ == "__main__":
    main()
