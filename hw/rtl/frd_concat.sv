// frd_q channel concatenation: per pixel, FOLDS[0] beats from input 0, then FOLDS[1] beats from input 1, ...
// Inputs arrive already widened to the output element width (the node wrapper sign- or zero-extends them).
// FOLDS packs one 32-bit beat count per input, input 0 in the least significant word.
module frd_concat #(
  parameter int unsigned W = 8,  // beat width (SIMD * output element bits)
  parameter int unsigned N = 2,  // inputs
  parameter logic [N*32-1:0] FOLDS = {32'd1, 32'd1}
) (
  input  logic clk,
  input  logic rst_n,
  input  logic [N*W-1:0] in_tdata,
  input  logic [N-1:0]   in_tvalid,
  output logic [N-1:0]   in_tready,
  output logic [W-1:0]   out_tdata,
  output logic           out_tvalid,
  input  logic           out_tready
);
  localparam int unsigned SW = N > 1 ? $clog2(N) : 1;
  logic [SW-1:0] sel;   // the input being forwarded
  logic [31:0]   cnt;   // beats of it forwarded for this pixel
  logic [31:0]   fold;

  assign fold       = FOLDS[sel*32 +: 32];
  assign out_tvalid = in_tvalid[sel];
  assign out_tdata  = in_tdata[sel*W +: W];
  always_comb begin
    in_tready      = '0;
    in_tready[sel] = out_tready;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      sel <= '0;
      cnt <= '0;
    end else if (out_tvalid && out_tready) begin
      if (cnt == fold - 1) begin
        cnt <= '0;
        sel <= (sel == SW'(N - 1)) ? '0 : sel + 1'b1;
      end else begin
        cnt <= cnt + 1;
      end
    end
  end
endmodule
