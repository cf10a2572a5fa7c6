// frd_q nearest-neighbour upsampling by integer factors FY x FX of a WI-pixel-wide image, FOLD beats per pixel.
// The first output copy of each input row streams the input through and stores it in a one-row buffer; the
// other FX - 1 copies of each pixel and the other FY - 1 copies of the row are read from the buffer. The buffer is
// read synchronously (a block-RAM read port with its register); the output is that register or the registered
// input beat.
module frd_upsample #(
  parameter int unsigned W = 8,     // beat width
  parameter int unsigned FOLD = 1,  // beats per pixel (channels / SIMD)
  parameter int unsigned WI = 4,    // input image width
  parameter int unsigned FY = 2,    // vertical factor
  parameter int unsigned FX = 2     // horizontal factor
) (
  input  logic clk,
  input  logic rst_n,
  input  logic [W-1:0] in_tdata,
  input  logic         in_tvalid,
  output logic         in_tready,
  output logic [W-1:0] out_tdata,
  output logic         out_tvalid,
  input  logic         out_tready
);
  localparam int unsigned ROW = WI * FOLD;  // beats in one input row
  localparam int unsigned AW = ROW > 1 ? $clog2(ROW) : 1;

  (* ram_style = "block" *)  // Yosys 0.70's LUTRAM mapping rejects some of these shapes; one RAMB18 holds most rows
  logic [W-1:0]  row [ROW];
  logic [W-1:0]  rd, in_q;  // registered buffer read, registered input beat
  logic          live_q;    // the output beat is in_q (else rd)
  logic [AW-1:0] base;   // first beat of the current pixel in the row buffer
  logic [31:0]   c, rx, x, ry;
  logic          live;   // first copy of the pixel and of the row: comes from the input
  logic          free, take;
  logic [AW-1:0] addr;

  assign addr      = base + AW'(c);
  assign live      = (rx == 0) && (ry == 0);
  assign free      = !out_tvalid || out_tready;
  assign in_tready = live && free;
  assign take      = free && (live ? in_tvalid : 1'b1);

  always_ff @(posedge clk) begin
    if (take && live) row[addr] <= in_tdata;
    if (take) rd <= row[addr];
  end
  assign out_tdata = live_q ? in_q : rd;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out_tvalid <= 1'b0;
      base <= '0;
      c <= 0; rx <= 0; x <= 0; ry <= 0;
    end else begin
      if (out_tvalid && out_tready) out_tvalid <= 1'b0;
      if (take) begin
        out_tvalid <= 1'b1;
        live_q     <= live;
        in_q       <= in_tdata;
        if (c != FOLD - 1) c <= c + 1;
        else begin
          c <= 0;
          if (rx != FX - 1) rx <= rx + 1;
          else begin
            rx <= 0;
            if (x != WI - 1) begin
              x    <= x + 1;
              base <= base + AW'(FOLD);
            end else begin
              x    <= 0;
              base <= '0;
              ry   <= (ry == FY - 1) ? 0 : ry + 1;
            end
          end
        end
      end
    end
  end
endmodule
