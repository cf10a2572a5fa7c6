// frd_q element-wise a - b (OP 0) or |a - b| (OP 1) of two streams of PE lanes each, joined beat by beat.
// Lanes are sign- or zero-extended to two bits above the wider input, computed exactly and truncated to the
// output width (FINN's output datatype holds every result). One output register; full throughput.
module frd_eltwise #(
  parameter int unsigned PE = 1,
  parameter int unsigned AW = 4,        // lhs element bits
  parameter int unsigned BW = 4,        // rhs element bits
  parameter int unsigned OW = 5,        // output element bits
  parameter bit          A_SIGNED = 0,
  parameter bit          B_SIGNED = 0,
  parameter int unsigned OP = 1         // 0: a - b, 1: |a - b|
) (
  input  logic clk,
  input  logic rst_n,
  input  logic [PE*AW-1:0] a_tdata,
  input  logic             a_tvalid,
  output logic             a_tready,
  input  logic [PE*BW-1:0] b_tdata,
  input  logic             b_tvalid,
  output logic             b_tready,
  output logic [PE*OW-1:0] out_tdata,
  output logic             out_tvalid,
  input  logic             out_tready
);
  localparam int unsigned EW = (AW > BW ? AW : BW) + 2;
  logic [PE*OW-1:0] res;
  logic             free;  // the output register can take a result this cycle

  for (genvar i = 0; i < PE; i++) begin : gen_lane
    logic [EW-1:0] a, b, d, r;
    assign a = {{(EW - AW){A_SIGNED ? a_tdata[i*AW + AW - 1] : 1'b0}}, a_tdata[i*AW +: AW]};
    assign b = {{(EW - BW){B_SIGNED ? b_tdata[i*BW + BW - 1] : 1'b0}}, b_tdata[i*BW +: BW]};
    assign d = a - b;
    assign r = (OP == 1 && d[EW-1]) ? -d : d;
    assign res[i*OW +: OW] = r[OW-1:0];
  end

  assign free     = !out_tvalid || out_tready;
  assign a_tready = b_tvalid && free;
  assign b_tready = a_tvalid && free;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out_tvalid <= 1'b0;
    end else if (a_tvalid && b_tvalid && free) begin
      out_tvalid <= 1'b1;
      out_tdata  <= res;
    end else if (out_tready) begin
      out_tvalid <= 1'b0;
    end
  end
endmodule
