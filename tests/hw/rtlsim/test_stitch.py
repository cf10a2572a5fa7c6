"""The stitcher reads FINN's generated wrappers and wires a graph by its tensors; it refuses what it cannot wire."""

import pytest

from hw.rtlsim.stitch import Layer, Port, StitchError, module_ports, write_top


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


PORTS = [Port(n, d) for n, d in [("ap_clk", "input"), ("ap_rst_n", "input"), ("s_axilite_WDATA", "input"),
                                   ("in0_V_TDATA", "input"), ("in0_V_TVALID", "input"), ("in0_V_TREADY", "output"),
                                   ("out0_V_TDATA", "output"), ("out0_V_TVALID", "output"),
                                   ("out0_V_TREADY", "input"), ("count", "output"), ("maxcount", "output")]]


def _layer(name, inputs, outputs, w_in=8, w_out=8, op="Thing_rtl"):
    return Layer(name, op, name, PORTS, [], [], inputs=inputs, outputs=outputs,
                 in_widths=[w_in] * len(inputs), out_widths=[w_out] * len(outputs))


def test_write_top_chains_and_ties_off(tmp_path):
    ports = write_top([_layer("a", ["x"], ["y"], 8, 16), _layer("b", ["y"], ["z"], 16, 24)], tmp_path / "t.sv")
    text = (tmp_path / "t.sv").read_text()
    assert ports.inputs == [("s_axis_0", 8)] and ports.outputs == [("m_axis_0", 24)] and ports.probe == []
    assert "input  [7:0] s_axis_0_tdata" in text and "output [23:0] m_axis_0_tdata" in text
    assert ".out0_V_TDATA(t0_0_tdata)" in text and ".in0_V_TDATA(t0_0_tdata)" in text
    assert ".s_axilite_WDATA('0)" in text and ".count()" in text and ".maxcount()" in text


def _streams(n_in, n_out, fifo=False):
    ports = [Port("ap_clk", "input"), Port("ap_rst_n", "input")]
    for k in range(n_in):
        ports += [Port(f"in{k}_V_TDATA", "input"), Port(f"in{k}_V_TVALID", "input"), Port(f"in{k}_V_TREADY", "output")]
    for k in range(n_out):
        ports += [Port(f"out{k}_V_TDATA", "output"), Port(f"out{k}_V_TVALID", "output"),
                  Port(f"out{k}_V_TREADY", "input")]
    return ports + ([Port("count", "output"), Port("maxcount", "output")] if fifo else [])


def test_write_top_wires_a_fork_and_a_join_by_tensor(tmp_path):
    fork = Layer("dup", "DuplicateStreams_rtl", "dup", _streams(1, 2), [], [], inputs=["x"], outputs=["p", "q"],
                 in_widths=[8], out_widths=[8, 8])
    fifo = Layer("fifo", "StreamingFIFO_rtl", "fifo", _streams(1, 1, fifo=True), [], [], inputs=["q"],
                 outputs=["q2"], in_widths=[8], out_widths=[8])
    join = Layer("cat", "StreamingConcat_rtl", "cat", _streams(2, 1), [], [], inputs=["q2", "p"], outputs=["y"],
                 in_widths=[8, 8], out_widths=[8])
    ports = write_top([fork, fifo, join], tmp_path / "t.sv", probe=True)
    text = (tmp_path / "t.sv").read_text()
    assert ".out1_V_TDATA(t0_1_tdata)" in text and ".in1_V_TDATA(t0_0_tdata)" in text  # q -> fifo, p -> concat
    assert ".in0_V_TDATA(t1_0_tdata)" in text  # q2 -> concat
    assert ports.inputs == [("s_axis_0", 8)] and ports.outputs == [("m_axis_0", 8)]
    # the FIFO's occupancy is probed and capped: its input handshake waits while count >= limit
    assert ports.probe == ["fifo"] and ".maxcount(probe[31:0])" in text and "input  [31:0] limit" in text
    assert "wire c1_open = c1_count < limit[31:0];" in text and "assign t0_1_tready = c1_tready & c1_open;" in text
    assert ".in0_V_TVALID(t0_1_tvalid & c1_open)" in text


def test_write_top_refuses_what_it_cannot_wire(tmp_path):
    with pytest.raises(StitchError, match="a -> b"):
        write_top([_layer("a", ["x"], ["y"], 8, 16), _layer("b", ["y"], ["z"], 8, 8)], tmp_path / "t.sv")
    with pytest.raises(StitchError, match="feeds both a and b"):
        write_top([_layer("a", ["x"], ["y"]), _layer("b", ["x"], ["z"])], tmp_path / "t.sv")
    with pytest.raises(StitchError, match="do not match"):
        write_top([_layer("a", ["x"], ["y"])], tmp_path / "t.sv", inputs=["w"])
