"""frd_q's resource model (hw.resources): FINN's estimates plus what they leave out, on synthetic graphs."""

from __future__ import annotations

from qonnx.custom_op.registry import getCustomOp

from hw.boards import get_board
from hw.folding import totals
from hw.resources import (FF_PER_LUT, LUTRAM_BITS_PER_LUT, MVAU_LUT_PER_MAC, MVAU_LUT_PER_PE, by_type, fits_board,
                          layer_resources, model_totals)
from tests.hw.test_folding import model_of, mvau, small_model

BOARD = get_board("ZCU104")


def one_mvau(ram_style: str, act="UINT4"):
    model = model_of([mvau("m0", 16, 8, simd=4, pe=4)], {"x": ([1, 4, 4, 16], act), "m": ([1, 4, 4, 8], "INT16")},
                     {"w": (16, 8, 4)})
    getCustomOp(model.graph.node[0]).set_nodeattr("ram_style", ram_style)
    getCustomOp(model.graph.node[0]).set_nodeattr("inputDataType", act)
    return model


def test_rtl_mvau_gets_luts_for_its_lanes_and_its_lutram_weights():
    block, lutram = (layer_resources(one_mvau(s), BOARD.part)["m0"] for s in ("block", "distributed"))
    assert block["source"] == "frd_q" and block["LUT"] == MVAU_LUT_PER_MAC * 16 + MVAU_LUT_PER_PE * 4
    assert block["FF"] > block["LUT"]  # Yosys: the lanes' pipeline registers (FINN estimates no FFs)
    # 16 x 8 weights of 4 bits at 16 lanes: 64 bits wide, 8 words deep, one LUT per bit of width
    assert lutram["LUT"] - block["LUT"] == 64 * 1 and 8 <= LUTRAM_BITS_PER_LUT
    assert lutram["BRAM_18K"] == 0 < block["BRAM_18K"]
    assert totals(one_mvau("block"), BOARD.part)["LUT"] == 0  # what FINN says


def test_rtl_mvau_dsps_count_three_lanes_for_8_bit_pixels():
    four = layer_resources(one_mvau("block"), BOARD.part)["m0"]["DSP"]
    three = layer_resources(one_mvau("block", act="UINT8"), BOARD.part)["m0"]["DSP"]
    assert (four, three) == (4, 8)  # PE 4 in one slice per SIMD element, or in two
    assert totals(one_mvau("block", act="UINT8"), BOARD.part)["DSP"] == 4  # FINN packs four whatever the width


def test_totals_fit_and_types_add_up():
    model = small_model()
    use = model_totals(model, BOARD.part)
    rows = by_type(model, BOARD.part)
    assert set(rows) == {"MVAU_rtl", "DuplicateStreams_rtl", "StreamingConcat_rtl"}
    assert sum(r["LUT"] for r in rows.values()) == use["LUT"] > totals(model, BOARD.part)["LUT"]
    assert rows["DuplicateStreams_rtl"]["LUT"] > 0  # FINN: 0
    assert rows["DuplicateStreams_rtl"]["FF"] == FF_PER_LUT * rows["DuplicateStreams_rtl"]["LUT"]
    assert not fits_board(use | {"FF": BOARD.ff * 0.95}, BOARD, 0.9)  # FFs count too
    assert fits_board(use, BOARD, 0.9)
    assert not fits_board(use | {"DSP": BOARD.dsp * 0.95}, BOARD, 0.9)


def test_width_converter_luts_follow_yosys_not_finn():
    from hw.resources import dwc_luts

    # down-converters are multiplexers: Yosys 19 009 LUTs for 1440 -> 15 bits, 2 009 for 256 -> 16
    assert 0.8 * 19009 < dwc_luts(1440, 15) < 1.2 * 19009 and 0.8 * 2009 < dwc_luts(256, 16) < 1.2 * 2009
    assert dwc_luts(8, 72) < 50  # an up-converter only registers (Yosys 40)
    assert dwc_luts(16, 12) > dwc_luts(12, 96) / 2  # a non-integer ratio costs about a LUT per bit of both


def test_rtl_thresholds_follow_yosys_not_finn():
    import numpy as np
    from onnx import helper

    from hw.resources import threshold_resources

    def thresholds(pe):
        node = helper.make_node("Thresholding_rtl", ["m", "t"], ["y"], name="thr", domain="finn.custom_op.fpgadataflow.rtl",
                                backend="fpgadataflow", NumChannels=96, PE=pe, numSteps=15, inputDataType="INT15",
                                weightDataType="INT15", outputDataType="UINT4", numInputVectors=[1, 4, 4], ActVal=0)
        model = model_of([node], {"m": ([1, 4, 4, 96], "INT15"), "y": ([1, 4, 4, 96], "UINT4")}, {})
        model.set_initializer("t", np.zeros((96, 15), dtype=np.float32))
        return model

    # Yosys on the default full build: PE 48 on 15-bit inputs, 15 steps: 4 112 LUT, 8 640 FF (FINN: 2 496 LUT)
    model = thresholds(48)
    row = layer_resources(model, BOARD.part)["thr"]
    assert row["source"] == "frd_q" and row == {**row, **threshold_resources(getCustomOp(model.graph.node[0]))}
    assert 0.85 * 4112 < row["LUT"] < 1.15 * 4112 and 0.85 * 8640 < row["FF"] < 1.15 * 8640
    assert row["LUT"] > totals(model, BOARD.part)["LUT"]
    assert layer_resources(thresholds(24), BOARD.part)["thr"]["LUT"] < row["LUT"]  # fewer comparators
