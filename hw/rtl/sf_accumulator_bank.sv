// sf_accumulator_bank: one synapse bank's current memories, NSET sets of tagged words.
//
// Every set is a memory of DEPTH words of CO currents (CB bits each, two's complement)
// and a 1-bit tag memory. A word holds a current of the set's present unit only if its tag
// equals the set's epoch; otherwise it reads as zero. The neuron unit's last pass over a
// unit sets the tag of every word it reads to the epoch, and freeing the set then flips
// the epoch: every word becomes stale (zero) without writing the data memory. After reset
// a clear pass (one address a cycle) marks every word of every set stale.
//
// The memories are read synchronously from a registered address (block RAM where the
// tools find it worth it): the clear, neuron-unit and update addresses are selected a
// cycle ahead, so no logic sits in front of the read ports. An update comes in one cycle
// ahead of its read (P: its address, registered as the read address), reads its word in
// U (the increment arrives then) and adds and writes back in W. An update whose word the
// update ahead of it is writing would read it stale, so it takes that update's sum instead
// (the write before that has landed). The neuron unit's words come two cycles after its
// address. The end-of-unit token follows the bank's last update of the unit through U and
// W, beside the updates; when it leaves W, every write of the unit has landed (`landed`).
//
// Protocol (asserted when SF_ASSERTIONS is defined): an update of a set never shares its
// P cycle with a clear or with a neuron-unit cycle on that set (the read address is
// one), and arrives only while the set is not landed, i.e. between a free and the unit's
// token; the neuron unit reads a set only while it is landed, and the set is freed at
// the earliest at the edge of the last read's tag write (one cycle after the last read).
//
// Parameters:
//   CO      currents per word (the stage's output channels)
//   CB      bits of a current
//   DEPTH   words per set
//   NSET    current sets: 1, or 2 (double buffering: accumulate one, fire the other)
//
// Ports:
//   clr_en, clr_addr      the clear pass after reset: mark word clr_addr of every set stale
//   free, free_set        the neuron unit is done with set free_set: it becomes all stale
//   update_valid          P: an update of word update_addr of set update_set enters
//   update_set, update_addr
//   update_incr           U (the cycle after its P): the update's CO increments
//   token_valid           P: the unit's end-of-unit token of set token_set enters (with
//                         the unit's last update or after it)
//   token_set
//   nu_en, nu_set         the neuron unit reads set nu_set this cycle (any set if NSET = 1)
//   nu_addr, nu_last      its word address; the last read of the word this unit
//   nu_rdata, nu_rvalid   per set, two cycles after the address: the word, and whether it
//                         holds the unit's current (else the current is zero)
//   landed                per set: the unit's token has left W (cleared by the free)

`default_nettype none

module sf_accumulator_bank #(
    parameter int CO = 1,
    parameter int CB = 16,
    parameter int DEPTH = 1,
    parameter int NSET = 1,
    // derived (do not override)
    localparam int DAB = sf_util::bits(DEPTH)  // word address bits
) (
    input  wire logic                   clk,
    input  wire logic                   rst,
    input  wire logic                   clr_en,
    input  wire logic [DAB-1:0]         clr_addr,
    input  wire logic                   free,
    input  wire logic                   free_set,
    input  wire logic                   update_valid,
    input  wire logic                   update_set,
    input  wire logic [DAB-1:0]         update_addr,
    input  wire logic [CO*CB-1:0]       update_incr,
    input  wire logic                   token_valid,
    input  wire logic                   token_set,
    input  wire logic                   nu_en,
    input  wire logic                   nu_set,
    input  wire logic [DAB-1:0]         nu_addr,
    input  wire logic                   nu_last,
    output logic      [NSET*CO*CB-1:0]  nu_rdata,
    output logic      [NSET-1:0]        nu_rvalid,
    output logic      [1:0]             landed
);
  if (NSET < 1 || NSET > 2 || CO < 1 || CB < 1 || DEPTH < 1) begin : g_bad_size
    $error("sf_accumulator_bank: NSET must be 1 or 2, CO, CB and DEPTH >= 1");
  end

  // ---- the update's side signals: P -> U (read) -> W (add and write back); the token
  // travels beside them, with its own valid bit and set ----
  typedef struct packed {
    logic set;
    logic [DAB-1:0] addr;
  } update_t;
  localparam int UW = 1 + DAB;  // update_t's bits (yosys has no $bits of a type)
  update_t update_in, reading, writing;  // the update entering, in U, in W
  logic reading_update, writing_update;  // an update is in U, in W
  logic [CO*CB-1:0] writing_incr;
  logic [UW+CO*CB-1:0] writing_bits;
  logic writing_token, writing_token_set;
  logic [3:0] unused_stage_valid;
  assign update_in = {update_set, update_addr};
  sf_pipe #(
      .WIDTH(UW),
      .STAGES(1)
  ) u_read_pipe (
      .clk,
      .rst,
      .i_valid(update_valid),
      .i_data(update_in),
      .o_valid(reading_update),
      .o_data(reading),
      .stage_valid(unused_stage_valid[0])
  );
  sf_pipe #(
      .WIDTH(UW + CO * CB),
      .STAGES(1)
  ) u_write_pipe (
      .clk,
      .rst,
      .i_valid(reading_update),
      .i_data({reading, update_incr}),
      .o_valid(writing_update),
      .o_data(writing_bits),
      .stage_valid(unused_stage_valid[1])
  );
  assign {writing, writing_incr} = writing_bits;
  sf_pipe #(
      .WIDTH(1),
      .STAGES(2)
  ) u_token_pipe (
      .clk,
      .rst,
      .i_valid(token_valid),
      .i_data(token_set),
      .o_valid(writing_token),
      .o_data(writing_token_set),
      .stage_valid(unused_stage_valid[3:2])
  );

  // ---- epochs and the landed flags ----
  logic [NSET-1:0] epoch_q;
  always_ff @(posedge clk) begin
    if (rst) epoch_q <= '0;
    else if (free) begin
      epoch_q[NSET > 1 ? 32'(free_set) : 0] <= !epoch_q[NSET > 1 ? 32'(free_set) : 0];
    end
  end
  logic [1:0] landed_q;
  always_ff @(posedge clk) begin
    // the token follows the bank's last update of its unit, so every write has landed
    for (int st = 0; st < 2; st++) begin
      if (rst || (free && free_set == st[0])) landed_q[st] <= 1'b0;
      else if (writing_token && writing_token_set == st[0]) landed_q[st] <= 1'b1;
    end
  end
  assign landed = landed_q;

  // ---- the sets ----
  logic [CO*CB-1:0] sum, written_sum_q;  // the sum W writes; the one it wrote a cycle ago
  logic forward_q;  // the update in W read its word while the update ahead was writing it
  always_ff @(posedge clk) begin
    written_sum_q <= sum;
    forward_q <= reading_update && writing_update && reading.addr == writing.addr &&
                 reading.set == writing.set;
  end
  logic [NSET*CO*CB-1:0] word_set;  // per set: the word read a cycle ago
  logic [NSET-1:0] current_set;  // per set: that word holds a current of the present unit
  logic [NSET-1:0] nu_owns;  // per set: the neuron unit's address is the read address
  for (genvar st = 0; st < NSET; st++) begin : g_set
    logic [CO*CB-1:0] mem[0:DEPTH-1];
    logic tag[0:DEPTH-1];
    logic [CO*CB-1:0] word_q;
    logic current_q;
    logic [DAB-1:0] read_addr_q, tag_addr;
    logic clear_q, last_read_q;  // read_addr_q is a clear address; a neuron unit's last read
    logic write_en, tag_en;
    assign nu_owns[st] = nu_en && (NSET == 1 || nu_set == st[0]);
    always_ff @(posedge clk) begin
      read_addr_q <= clr_en ? clr_addr : nu_owns[st] ? nu_addr : update_addr;
      clear_q <= clr_en;
      last_read_q <= nu_owns[st] && nu_last;
    end
    // the array writes only while it owns the set, so no tag write of the clear pass or
    // of the neuron unit's last pass meets it (the array takes a freed set's first event
    // several cycles after the free, which may share an edge with the last read's tag write)
    assign write_en = writing_update && (NSET == 1 || writing.set == st[0]);
    assign tag_addr = write_en ? writing.addr : read_addr_q;
    assign tag_en = clear_q || write_en || last_read_q;
    always_ff @(posedge clk) begin
      if (write_en) mem[writing.addr] <= sum;
      word_q <= mem[read_addr_q];
      current_q <= tag[read_addr_q] == epoch_q[st];
      // the clear pass after reset marks words stale; updates and last reads mark them
      // current (stale after the flip, which may come at this very edge)
      if (tag_en) tag[tag_addr] <= clear_q ? !epoch_q[st] : epoch_q[st];
    end
    assign word_set[st*CO*CB+:CO*CB] = word_q;
    assign current_set[st] = current_q;
    assign nu_rdata[st*CO*CB+:CO*CB] = word_q;
    assign nu_rvalid[st] = current_q;

`ifdef SF_ASSERTIONS
    // one access per memory per cycle: the update's read address is never displaced by a
    // clear or a neuron-unit read of its set, and the tag memory's one write port never
    // has two writers (clear, update write-back, last read)
    a_read_port_free: assert property (@(posedge clk) disable iff (rst)
        (update_valid && (NSET == 1 || update_set == st[0])) |-> !clr_en && !nu_owns[st])
      else $error("sf_accumulator_bank: set %0d: an update met a clear or a neuron read", st);
    a_one_tag_write: assert property (@(posedge clk) disable iff (rst)
        $onehot0({clear_q, write_en, last_read_q}))
      else $error("sf_accumulator_bank: set %0d: two tag writes in one cycle", st);
    // the neuron unit reads only a set whose unit has landed, and not in its free cycle
    a_reads_landed: assert property (@(posedge clk) disable iff (rst)
        nu_owns[st] |-> landed_q[st] && !(free && (NSET == 1 || free_set == st[0])))
      else $error("sf_accumulator_bank: set %0d read before it landed or as it was freed", st);
`endif
  end

  // ---- W: the update adds to its set's word (zero if stale, the forwarded sum if the
  // update ahead was writing it) ----
  logic [CO*CB-1:0] word_acc;
  logic current_acc;
  assign word_acc = (NSET > 1 && writing.set) ? word_set[(NSET-1)*CO*CB+:CO*CB]
                                              : word_set[0+:CO*CB];
  assign current_acc = (NSET > 1 && writing.set) ? current_set[NSET-1] : current_set[0];
  for (genvar co = 0; co < CO; co++) begin : g_add
    logic [CB-1:0] base;
    assign base = forward_q ? written_sum_q[co*CB+:CB] : current_acc ? word_acc[co*CB+:CB] : '0;
    assign sum[co*CB+:CB] = base + writing_incr[co*CB+:CB];
  end

`ifdef SF_ASSERTIONS
  // no update (or second token) of a set between its token and its free: the neuron unit
  // may be reading it
  for (genvar st = 0; st < 2; st++) begin : g_check_landed
    a_no_update_landed: assert property (@(posedge clk) disable iff (rst)
        ((reading_update && reading.set == st[0]) || (writing_update && writing.set == st[0]) ||
         (writing_token && writing_token_set == st[0])) |-> !landed_q[st])
      else $error("sf_accumulator_bank: an update of set %0d after its unit landed", st);
  end
`endif
endmodule

`default_nettype wire
