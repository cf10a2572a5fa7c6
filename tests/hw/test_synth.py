"""hw/synth.py pieces that need no Yosys run: the cell grouping and the synthesis-only finn-rtllib fixes
(the Yosys run itself is exercised by tests/test_sweep.py on a real tiny build)."""

from __future__ import annotations

import pytest

from hw.synth import SYNTH_FIXES, SynthError, family_for, fixed_rtllib, group_cells


def test_cells_are_grouped_as_fpga_resources():
    cells = {"LUT1": 1, "LUT6": 10, "RAM32M16": 2, "SRLC32E": 3, "FDRE": 7, "FDSE": 1, "CARRY8": 4, "RAMB18E2": 1,
             "RAMB36E2": 2, "URAM288": 1, "DSP48E2": 5, "MUXF7": 9, "INV": 2}
    assert group_cells(cells) == {"LUT": 11, "LUTRAM": 19, "FF": 8, "CARRY": 4, "BRAM_18K": 5, "URAM": 1, "DSP": 5}


def test_synthesis_fixes_apply_to_the_installed_rtllib():
    texts = fixed_rtllib()
    assert "THRESHS_FILE" in texts["thresholding.sv"] and "$readmemh($sformatf" not in texts["thresholding.sv"]
    assert "p.ptr[M-1:SN+1] < 2**stage" not in texts["thresholding.sv"]
    assert "blkRecoveryWatch" not in texts["mvu.sv"] and "#100ns" not in texts["mvu.sv"]
    assert not any("`default_nettype" in t for t in texts.values())
    assert {f.file for f in SYNTH_FIXES} <= set(texts)


def test_a_fix_that_no_longer_applies_names_the_file(monkeypatch):
    import hw.synth as synth

    monkeypatch.setattr(synth, "SYNTH_FIXES", [synth.SynthFix("mvu.sv", "gone", "text that is not there", "")])
    with pytest.raises(SynthError, match="mvu.sv.*no longer applies"):
        fixed_rtllib()


def test_board_families_map_to_synth_xilinx_families():
    from hw.boards import get_board

    assert family_for(get_board("ZCU104")) == "xcup" and family_for(get_board("Pynq-Z1")) == "xc7"
    assert family_for(get_board("XQRKU060")) == "xcu"


def test_synth_of_a_folder_that_is_no_build_is_one_error(tmp_path, capsys):
    from frd_q.apps.cli import main

    assert main(["synth", "--build", str(tmp_path)]) == 2
    assert f"{tmp_path / 'summary.json'}: not found" in capsys.readouterr().err
