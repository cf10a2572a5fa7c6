"""The Verilator fixes of finn-rtllib apply to the installed finn-plus, and the fixed FIFO simulates correctly."""

import numpy as np
import pytest

from hw.rtlsim import rtllib, verilator
from hw.rtlsim.rtllib import FIXES, RtllibError, patched_sources, prepare_rtllib
from hw.rtlsim.stitch import TopPorts


def test_every_fix_applies_to_the_installed_library():
    texts = patched_sources()
    assert set(texts) == set(rtllib.FILES)
    for fix in FIXES:
        assert fix.old not in texts[fix.file] or fix.old in fix.new, fix.description
    assert "ABITS.lo" not in texts["fifo/hdl/fifo.sv"]
    assert "init_leaf_loads" not in texts["mvu/add_multi.sv"]


def test_a_fix_that_no_longer_applies_names_the_file(tmp_path):
    root = tmp_path / "finn-rtllib"
    for rel, text in patched_sources().items():  # an "upgraded" library where the fixes are already in
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    with pytest.raises(RtllibError, match="fifo.sv"):
        patched_sources(root)


FIFO_TOP = """
module frd_top (input ap_clk, input ap_rst_n,
  input [15:0] s_axis_tdata, input s_axis_tvalid, output s_axis_tready,
  output [15:0] m_axis_tdata, output m_axis_tvalid, input m_axis_tready);
  fifo #(.DEPTH({depth}), .DATA_WIDTH(16), .RAM_STYLE("{style}")) q (
    .clk(ap_clk), .rst(!ap_rst_n),
    .idat(s_axis_tdata), .ivld(s_axis_tvalid), .irdy(s_axis_tready),
    .odat(m_axis_tdata), .ovld(m_axis_tvalid), .ordy(m_axis_tready), .count(), .maxcount());
endmodule
"""


@pytest.mark.hil
@pytest.mark.parametrize("depth,style", [(2, "auto"), (1500, "block"), (5000, "auto")])  # shift, BRAM, URAM
def test_fixed_fifo_passes_every_word_under_random_stalls(tmp_path, sim_cache, depth, style):
    lib = prepare_rtllib(tmp_path / "lib")
    top = tmp_path / "top.sv"
    top.write_text(FIFO_TOP.format(depth=depth, style=style))
    exe = verilator.compile_top(lib, top, TopPorts([("s_axis", 16)], [("m_axis", 16)]), sim_cache)
    data = np.random.default_rng(depth).integers(0, 1 << 16, size=(3000, 1)).astype(np.uint32)
    (out,), stats = verilator.run(exe, tmp_path, [data], [verilator.Out(3000, 1, 1000)], in_stall=0.3, out_stall=0.5,
                                  seed=3)
    assert np.array_equal(out, data)
    assert len(stats["frame_end"][0]) == 3 and stats["cycles"] > 3000 / 0.5 * 0.8  # the sink's stalls slow it down
