// sf_pipe: pipeline registers for a valid bit and a data word that travel together.
//
// STAGES registers in a row, every one moving every cycle (no stall: the producers of
// the core issue on credits, so nothing downstream ever waits). The valid bits reset;
// the data does not (it means something only where its valid bit is set). To carry
// several side signals, pack them into a `typedef struct packed` in the module that owns
// them, pass $bits() of a signal of that struct as WIDTH (yosys rejects $bits of a
// type; or spell the width out) and assign the struct to i_data and o_data.
//
// Parameters:
//   WIDTH    data bits per item (>= 1)
//   STAGES   registers in a row (>= 1); the item comes out STAGES cycles after it went in
//
// Ports:
//   clk          clock
//   rst          synchronous, active high: clears the valid bits only
//   i_valid      an item enters the first register
//   i_data       its data
//   o_valid      the item leaving the last register
//   o_data       its data
//   stage_valid  every register's valid bit, [0] the first: what is in flight (busy, credits)

`default_nettype none

module sf_pipe #(
    parameter int WIDTH = 1,  // data bits per item, >= 1
    parameter int STAGES = 1  // registers in a row, >= 1
) (
    input  wire logic              clk,
    input  wire logic              rst,
    input  wire logic              i_valid,
    input  wire logic [WIDTH-1:0]  i_data,
    output logic                   o_valid,
    output logic      [WIDTH-1:0]  o_data,
    output logic      [STAGES-1:0] stage_valid
);
  if (WIDTH < 1 || STAGES < 1) begin : g_bad_size
    $error("sf_pipe: WIDTH and STAGES must be >= 1");
  end

  logic [STAGES-1:0] valid_q;
  logic [STAGES*WIDTH-1:0] data_q;  // stage s at [s*WIDTH +: WIDTH]

  always_ff @(posedge clk) begin
    if (rst) valid_q <= '0;
    else begin
      valid_q[0] <= i_valid;
      for (int s = 1; s < STAGES; s++) valid_q[s] <= valid_q[s-1];
    end
    data_q[0+:WIDTH] <= i_data;
    for (int s = 1; s < STAGES; s++) data_q[s*WIDTH+:WIDTH] <= data_q[(s-1)*WIDTH+:WIDTH];
  end

  assign o_valid = valid_q[STAGES-1];
  assign o_data = data_q[(STAGES-1)*WIDTH+:WIDTH];
  assign stage_valid = valid_q;
endmodule

`default_nettype wire
