// frd_q stream duplication: every input beat is offered on all N outputs and retired once each output took it.
// AXI-Stream on every port; an output that took the current beat early is masked until the input advances.
module frd_dup #(
  parameter int unsigned W = 8,  // beat width
  parameter int unsigned N = 2   // outputs
) (
  input  logic clk,
  input  logic rst_n,
  input  logic [W-1:0]   in_tdata,
  input  logic           in_tvalid,
  output logic           in_tready,
  output logic [N*W-1:0] out_tdata,
  output logic [N-1:0]   out_tvalid,
  input  logic [N-1:0]   out_tready
);
  logic [N-1:0] done;  // outputs that already took the current input beat

  assign out_tdata  = {N{in_tdata}};
  assign out_tvalid = {N{in_tvalid}} & ~done;
  assign in_tready  = &(done | out_tready);

  always_ff @(posedge clk) begin
    if (!rst_n) done <= '0;
    else if (in_tvalid && in_tready) done <= '0;
    else done <= done | (out_tvalid & out_tready);
  end
endmodule
