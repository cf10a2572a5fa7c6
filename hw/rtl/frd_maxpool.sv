// frd_q max pooling over the window stream of a depthwise sliding-window generator: per output beat, K2
// consecutive input beats of PE lanes (FINN's depthwise order: channel fold, kernel rows, kernel columns, PE).
// Signed lanes are compared with their sign bit flipped. One output register; full throughput.
module frd_maxpool #(
  parameter int unsigned PE = 1,
  parameter int unsigned BITS = 4,
  parameter bit          SIGNED = 0,
  parameter int unsigned K2 = 4      // window size (kernel height * kernel width)
) (
  input  logic clk,
  input  logic rst_n,
  input  logic [PE*BITS-1:0] in_tdata,
  input  logic               in_tvalid,
  output logic               in_tready,
  output logic [PE*BITS-1:0] out_tdata,
  output logic               out_tvalid,
  input  logic               out_tready
);
  localparam int unsigned KW = K2 > 1 ? $clog2(K2) : 1;
  logic [KW-1:0]        k;     // window beats taken so far
  logic [PE*BITS-1:0]   acc;   // running maximum
  logic [PE*BITS-1:0]   m;     // maximum including the current beat
  logic                 last;

  for (genvar i = 0; i < PE; i++) begin : gen_lane
    logic [BITS-1:0] x, y;
    assign x = in_tdata[i*BITS +: BITS];
    assign y = acc[i*BITS +: BITS];
    assign m[i*BITS +: BITS] =
      (k == '0 || ((x ^ (BITS'(SIGNED) << (BITS - 1))) > (y ^ (BITS'(SIGNED) << (BITS - 1))))) ? x : y;
  end

  assign last      = (k == KW'(K2 - 1));
  assign in_tready = !last || !out_tvalid || out_tready;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      k          <= '0;
      out_tvalid <= 1'b0;
    end else begin
      if (out_tvalid && out_tready) out_tvalid <= 1'b0;
      if (in_tvalid && in_tready) begin
        if (last) begin
          k          <= '0;
          out_tdata  <= m;
          out_tvalid <= 1'b1;
        end else begin
          k   <= k + 1'b1;
          acc <= m;
        end
      end
    end
  end
endmodule
