"""The stitcher reads FINN's generated wrappers and wires a chain; it refuses what it cannot wire."""

import pytest

from sim.stitch import Layer, Port, StitchError, module_ports, write_top


WRAPPER = """
module Thing_rtl_3 #(
	parameter  W = 8
)(
	(* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 ap_clk CLK" *)
	input	ap_clk,
	input	ap_rst_n,
	input [$clog2(4) + 1:0]  s_axilite_AWADDR,	// lowest 2 bits ignored
	output	in0_V_TREADY,
	input	in0_V_TVALID,
	input	[((W+7)/8)*8-1:0]  in0_V_TDATA,
	input	out0_V_TREADY,
	output	out0_V_TVALID,
	output	[7:0]  out0_V_TDATA
);
endmodule
"""


def test_module_ports_reads_an_ansi_header(tmp_path):
    f = tmp_path / "w.v"
    f.write_text(WRAPPER)
    ports = module_ports(f, "Thing_rtl_3")
    assert [p.name for p in ports] == ["ap_clk", "ap_rst_n", "s_axilite_AWADDR", "in0_V_TREADY", "in0_V_TVALID",
                                       "in0_V_TDATA", "out0_V_TREADY", "out0_V_TVALID", "out0_V_TDATA"]
    assert ports[2] == Port("s_axilite_AWADDR", "input") and ports[3].direction == "output"
    with pytest.raises(StitchError, match="Other"):
        module_ports(f, "Other")


def _layer(name, w_in, w_out, ports):
    return Layer(name, "Thing_rtl", name, ports, w_in, w_out, [], [])


def test_write_top_chains_and_ties_off(tmp_path):
    ports = [Port(n, d) for n, d in [("ap_clk", "input"), ("ap_rst_n", "input"), ("s_axilite_WDATA", "input"),
                                     ("in0_V_TDATA", "input"), ("in0_V_TVALID", "input"), ("in0_V_TREADY", "output"),
                                     ("out0_V_TDATA", "output"), ("out0_V_TVALID", "output"),
                                     ("out0_V_TREADY", "input"), ("count", "output")]]
    text = write_top([_layer("a", 8, 16, ports), _layer("b", 16, 24, ports)], tmp_path / "t.sv").read_text()
    assert "input  [7:0] s_axis_tdata" in text and "output [23:0] m_axis_tdata" in text
    assert ".out0_V_TDATA(s1_tdata)" in text and ".in0_V_TDATA(s1_tdata)" in text
    assert ".s_axilite_WDATA('0)" in text and ".count()" in text


def test_write_top_refuses_mismatched_widths(tmp_path):
    with pytest.raises(StitchError, match="a -> b"):
        write_top([_layer("a", 8, 16, []), _layer("b", 8, 8, [])], tmp_path / "t.sv")
