// sf_synapse: the event-driven synapse array of one stage.
//
// The stage's currents live in BANK_ROWS x BANK_COLS banks (output row mod BANK_ROWS,
// column mod BANK_COLS), each a
// memory of Co-channel words. One input event (y, x, c[, input value]) reaches a footprint
// of output positions; the generated tables list, per input coordinate and bank, the
// targets that fall in that bank (address and kernel index, the bank's n-th target in
// group n) and how many there are. Every bank has its own queue of the events that reach
// it and works through them on its own, one target per cycle, so no bank idles while
// another finishes an event: the array takes one event per cycle and updates up to
// BANK_ROWS*BANK_COLS*CO neurons per cycle. The end of a unit (a step, or the analog image) is a token
// in every queue, so a bank that is done with a step goes on with the next one while
// others finish theirs; the set is done (``done``) when every bank has passed it. Every
// bank has its own copy of the kernel, one word of Co weights per (input channel, kernel
// row, kernel column), read at its target's index.
//
// Pipeline: Q (per bank: a queue of the events with a target there) -> L (per bank: the
// event being expanded into its targets) -> A (tables: address and weight address) ->
// B (weight words, synchronous reads) -> [M (analog only: multiply by the input value)]
// -> U (read of the addressed bank words) -> W (add and write back; the sum of the bank's
// update ahead is forwarded to one that read its word stale). Every bank memory's read
// address is a register (the clear, neuron and update addresses are selected a cycle
// ahead), so no logic and no far-away driver sits in front of its read ports. The neuron
// unit reads the banks through the nu_* port, the data two cycles after the address; a
// set is cleared by flipping its epoch (see the banks below).

`default_nettype none

module sf_synapse #(
    // the layer (sf_stage passes its slice of sf_params)
    parameter int FLATTEN = 0,       // 1: a dense layer; events (y, x, c) flatten to channels
    parameter int ANALOG = 0,        // 1: events carry input values (the analog first layer)
    parameter int SRC_ROWS = 1,      // source shape before flattening (rows, columns)
    parameter int SRC_COLS = 1,
    parameter int IN_ROWS = 1,       // array input: rows, columns (1 if dense), channels
    parameter int IN_COLS = 1,
    parameter int IN_CHANNELS = 1,
    parameter int CO = 1,            // output channels (one bank word holds all of them)
    parameter int CB = 16,           // current (partial sum) bits
    parameter int WB = 8,            // weight bits
    parameter int KERNEL_ROWS = 1,
    parameter int KERNEL_COLS = 1,
    // the current banks: BANK_ROWS x BANK_COLS memories of BANK_DEPTH_Y x BANK_DEPTH_X words
    parameter int BANK_ROWS = 1,
    parameter int BANK_COLS = 1,
    parameter int BANK_DEPTH_Y = 1,
    parameter int BANK_DEPTH_X = 1,
    parameter int GROUPS_Y = 1,      // target groups per input row / column (tables)
    parameter int GROUPS_X = 1,
    parameter int NSET = 1,          // current sets: 1, or 2 (double buffering)
    // events: coordinate bits and the analog value's bits and signedness
    parameter int EYB = 1,
    parameter int EXB = 1,
    parameter int ECB = 1,
    parameter int EVB = 8,
    parameter int VALUE_SIGNED = 0,
    // $readmemh files (generated: sw/spikeforge/rtl/params.py)
    parameter ROW_TARGETS_FILE = "",  // per input row and group: bank address, kernel row
    parameter COL_TARGETS_FILE = "",  // per input column and group: the same for columns
    parameter ROW_COUNTS_FILE = "",  // per input row: targets in each bank row
    parameter COL_COUNTS_FILE = "",  // per input column: targets in each bank column
    parameter FLAT_BASE_FILE = "",  // dense: (y * SRC_COLS + x) * channels per (y, x)
    parameter WEIGHTS_FILE = "",  // per (input channel, kernel position): CO weights
    // derived (do not override)
    localparam int NBK = BANK_ROWS * BANK_COLS,  // banks
    localparam int DAB = sf_util::bits(BANK_DEPTH_Y * BANK_DEPTH_X)  // bank address bits
) (
    input  wire logic                        clk,
    input  wire logic                        rst,
    // input events and end-of-unit tokens (the end of a step, or of the analog image)
    input  wire logic                        ev_valid,
    output logic                             ev_ready,
    input  wire logic                        ev_eos,
    input  wire logic [EYB-1:0]              ev_y,
    input  wire logic [EXB-1:0]              ev_x,
    input  wire logic [ECB-1:0]              ev_c,
    input  wire logic [EVB-1:0]              ev_val,
    output logic      [1:0]                  done,      // per set: its unit is accumulated
    // after reset: mark every word of every set stale (address clr_addr of every bank)
    input  wire logic                        clr_en,
    input  wire logic [DAB-1:0]              clr_addr,
    // a set's fire pass is over: all its words become stale, i.e. zero, and the banks may
    // accumulate their next unit there
    input  wire logic                        free,
    input  wire logic                        free_set,
    // neuron unit port on set nu_set: per bank, a read address; per set and bank, the
    // word and whether it holds this unit's current (else the current is zero), two
    // cycles after the address
    input  wire logic                        nu_en,
    input  wire logic                        nu_set,
    input  wire logic [NBK*DAB-1:0]          nu_addr,
    input  wire logic [NBK-1:0]              nu_last,   // last read of the word this unit
    output logic      [NSET*NBK*CO*CB-1:0]   nu_rdata,
    output logic      [NSET*NBK-1:0]         nu_rvalid
);
  localparam int DEPTH = BANK_DEPTH_Y * BANK_DEPTH_X;  // words per bank
  localparam int KHW = KERNEL_ROWS * KERNEL_COLS;  // weight words per input channel
  localparam int WDEPTH = IN_CHANNELS * KHW;  // weight words of a bank
  localparam int WW = CO * WB;  // weight word bits
  // an analog event's value: EVB bits of an input element, two's complement if VALUE_SIGNED;
  // as a signed number it takes VW bits, a weight x value product PB
  localparam int VW = EVB + 1 - VALUE_SIGNED;
  localparam int PB = WB + VW;
  // table entry layouts (LSB first): per bank {address, kernel index}; the row table's
  // address and kernel row come multiplied by BANK_DEPTH_X and KERNEL_COLS (adds, no
  // multipliers)
  localparam int COL_ADDR_BITS = sf_util::bits(BANK_DEPTH_X);
  localparam int ROW_KERN_BITS = sf_util::bits(KHW), COL_KERN_BITS = sf_util::bits(KERNEL_COLS);
  localparam int ROW_ENTRY_BITS = BANK_ROWS * (DAB + ROW_KERN_BITS);
  localparam int COL_ENTRY_BITS = BANK_COLS * (COL_ADDR_BITS + COL_KERN_BITS);
  localparam int CIB = sf_util::bits(IN_CHANNELS);  // array channel index bits
  localparam int IYB = sf_util::bits(IN_ROWS);  // array coordinates
  localparam int IXB = sf_util::bits(IN_COLS);
  localparam int WAB = sf_util::bits(WDEPTH);  // weight address bits
  localparam int GYB = sf_util::bits(GROUPS_Y), GXB = sf_util::bits(GROUPS_X);
  localparam int NYB = sf_util::bits(GROUPS_Y + 1);  // target counts
  localparam int NXB = sf_util::bits(GROUPS_X + 1);
  localparam int QW = 1 + EVB + CIB + IXB + IYB;  // {end of unit, value, channel, x, y}
  localparam int QDEPTH = 64;  // events a bank may lag behind the array's input
  localparam int SYB = sf_util::bits(SRC_ROWS);  // source coordinates
  localparam int SXB = sf_util::bits(SRC_COLS);

  if (NSET < 1 || NSET > 2) begin : g_bad_sets
    $error("sf_synapse: NSET must be 1 or 2");
  end
  if (BANK_ROWS < 1 || BANK_COLS < 1 || GROUPS_Y < 1 || GROUPS_X < 1 ||
      CB <= (ANALOG != 0 ? PB : WB) || CB > 62) begin : g_bad_geometry
    $error("sf_synapse: bank and group counts must be >= 1, CB in WB+1 (PB+1 analog) .. 62");
  end

  // ---- memories, initialized from the generated files ----
  // the tables are indexed by {coordinate, group}
  logic [ROW_ENTRY_BITS-1:0] rtab[0:(1<<(IYB+GYB))-1];
  logic [COL_ENTRY_BITS-1:0] ctab[0:(1<<(IXB+GXB))-1];
  if (ROW_TARGETS_FILE != "") begin : g_load_rtab
    initial $readmemh(ROW_TARGETS_FILE, rtab);
  end
  if (COL_TARGETS_FILE != "") begin : g_load_ctab
    initial $readmemh(COL_TARGETS_FILE, ctab);
  end

  // ---- Q: the array's input; every bank with a target queues the event, and every bank
  // queues an end-of-unit token ----
  logic [NBK-1:0] q_room;
  logic [NBK-1:0] q_hit, q_valid, q_pop;
  logic [NBK*QW-1:0] q_data;
  assign ev_ready = !clr_en && &q_room;

  // source coordinates -> array coordinates (a dense layer flattens them)
  logic [IYB-1:0] y_in;
  logic [IXB-1:0] x_in;
  logic [CIB-1:0] c_in;
  if (FLATTEN != 0) begin : g_flatten
    // (y * SRC_COLS + x) * SC from a table indexed by {y, x}: no multiplier on the event path
    logic [CIB-1:0] base[0:(1<<(SYB+SXB))-1];
    if (FLAT_BASE_FILE != "") begin : g_load_base
      initial $readmemh(FLAT_BASE_FILE, base);
    end
    assign y_in = '0;
    assign x_in = '0;
    assign c_in = base[{ev_y[SYB-1:0], ev_x[SXB-1:0]}] + CIB'(ev_c);
  end else begin : g_direct
    assign y_in = IYB'(ev_y);
    assign x_in = IXB'(ev_x);
    assign c_in = CIB'(ev_c);
  end
  // event coordinates are as wide as the widest link; this stage may use fewer bits
  logic unused_coords;
  assign unused_coords = ^{ev_y, ev_x, ev_c};

  // per coordinate and bank: how many targets (0: the bank takes no part in the event)
  logic [BANK_ROWS*NYB-1:0] ny_tab[0:(1<<IYB)-1];
  logic [BANK_COLS*NXB-1:0] nx_tab[0:(1<<IXB)-1];
  if (ROW_COUNTS_FILE != "") begin : g_load_ny_tab
    initial $readmemh(ROW_COUNTS_FILE, ny_tab);
  end
  if (COL_COUNTS_FILE != "") begin : g_load_nx_tab
    initial $readmemh(COL_COUNTS_FILE, nx_tab);
  end
  logic [BANK_ROWS*NYB-1:0] ny_in;
  logic [BANK_COLS*NXB-1:0] nx_in;
  assign ny_in = ny_tab[y_in];
  assign nx_in = nx_tab[x_in];

  // ---- per bank: Q, L (the event expanded into the bank's targets) and A (its tables) ----
  logic [NBK-1:0] a_bank_q;  // a target of this bank is in A
  logic [NBK-1:0] a_mark_q;  // this bank's end-of-unit token is in A
  logic [NBK-1:0] a_set_q;  // the set of what is in A
  logic [NBK*DAB-1:0] a_addr_q;
  logic [NBK*WAB-1:0] a_waddr_q;
  logic [NBK*EVB-1:0] a_val_q;
  for (genvar ry = 0; ry < BANK_ROWS; ry++) begin : g_ry
    for (genvar rx = 0; rx < BANK_COLS; rx++) begin : g_rx
      localparam int B = ry * BANK_COLS + rx;
      localparam int ROW_OFS = ry * (DAB + ROW_KERN_BITS);
      localparam int COL_OFS = rx * (COL_ADDR_BITS + COL_KERN_BITS);
      assign q_hit[B] = ny_in[ry*NYB+:NYB] != '0 && nx_in[rx*NXB+:NXB] != '0;
      logic [8:0] q_free;
      sf_fifo #(
          .WIDTH(QW),
          .DEPTH(QDEPTH)
      ) u_queue (
          .clk,
          .rst,
          .i_valid(ev_valid && ev_ready && (ev_eos || q_hit[B])),
          .i_ready(q_room[B]),
          .i_data({ev_eos, ev_val, c_in, x_in, y_in}),
          .o_valid(q_valid[B]),
          .o_ready(q_pop[B]),
          .o_data(q_data[B*QW+:QW]),
          .free(q_free)
      );
      logic unused_free;
      assign unused_free = ^q_free;

      // L: the queue's head event, target by target (row-major over the bank's targets).
      // An end-of-unit token moves the bank on to the other set (with two), which it takes
      // only once that set's last unit has been fired and freed: the banks move from step
      // to step each on its own, and only the neuron unit waits for all of them.
      logic [IYB-1:0] qy;
      logic [IXB-1:0] qx;
      logic [CIB-1:0] qc;
      logic [EVB-1:0] qval;
      logic qmark, mark_pop, set_q, hold;
      logic [1:0] passed_q;  // per set: the bank has taken its unit's end-of-unit token
      assign {qmark, qval, qc, qx, qy} = q_data[B*QW+:QW];
      assign hold = passed_q[set_q];  // the set is still accumulated or being fired
      assign mark_pop = q_valid[B] && q_pop[B] && qmark;
      always_ff @(posedge clk) begin
        if (rst) begin
          set_q <= 1'b0;
          passed_q <= '0;
        end else begin
          if (mark_pop && NSET > 1) set_q <= !set_q;
          for (int st = 0; st < 2; st++) begin
            if (free && free_set == st[0]) passed_q[st] <= 1'b0;
            else if (mark_pop && set_q == st[0]) passed_q[st] <= 1'b1;
          end
        end
      end
      logic ev_q_valid;
      logic [IYB-1:0] y_q;
      logic [IXB-1:0] x_q;
      logic [WAB-1:0] wbase_q;  // the input channel's first weight word
      logic [EVB-1:0] val_q;
      logic [GYB-1:0] gy_q, gy_end_q;
      logic [GXB-1:0] gx_q, gx_end_q;
      logic last_target;
      logic [NYB-1:0] ny;
      logic [NXB-1:0] nx;
      assign ny = ny_tab[qy][ry*NYB+:NYB];
      assign nx = nx_tab[qx][rx*NXB+:NXB];
      assign last_target = gy_q == gy_end_q && gx_q == gx_end_q;
      assign q_pop[B] = !hold && (!ev_q_valid || last_target);
      always_ff @(posedge clk) begin
        if (rst) begin
          ev_q_valid <= 1'b0;
          gy_q <= '0;
          gx_q <= '0;
        end else if (q_valid[B] && q_pop[B] && !qmark) begin
          ev_q_valid <= 1'b1;
          gy_q <= '0;
          gx_q <= '0;
        end else if (ev_q_valid) begin
          if (last_target) ev_q_valid <= 1'b0;
          else if (gx_q == gx_end_q) begin
            gx_q <= '0;
            gy_q <= gy_q + 1'b1;
          end else gx_q <= gx_q + 1'b1;
        end
        if (q_valid[B] && q_pop[B] && !qmark) begin
          y_q <= qy;
          x_q <= qx;
          wbase_q <= WAB'(32'(qc) * KHW);
          gy_end_q <= GYB'(ny - 1'b1);  // queued events have a target here: ny, nx >= 1
          gx_end_q <= GXB'(nx - 1'b1);
          val_q <= qval;
        end
      end

      // A: the target's address in the bank and its weight word in the kernel copy
      logic [DAB-1:0] r_addr;
      logic [ROW_KERN_BITS-1:0] r_kern;
      logic [COL_ADDR_BITS-1:0] c_addr;
      logic [COL_KERN_BITS-1:0] c_kern;
      assign {r_kern, r_addr} = rtab[{y_q, gy_q}][ROW_OFS+:DAB+ROW_KERN_BITS];
      assign {c_kern, c_addr} = ctab[{x_q, gx_q}][COL_OFS+:COL_ADDR_BITS+COL_KERN_BITS];
      always_ff @(posedge clk) begin
        if (rst) begin
          a_bank_q[B] <= 1'b0;
          a_mark_q[B] <= 1'b0;
        end else begin
          a_bank_q[B] <= ev_q_valid;
          a_mark_q[B] <= mark_pop;
        end
        a_set_q[B] <= set_q;
        a_addr_q[B*DAB+:DAB] <= r_addr + DAB'(c_addr);
        a_waddr_q[B*WAB+:WAB] <= wbase_q + WAB'(r_kern) + WAB'(c_kern);
        a_val_q[B*EVB+:EVB] <= val_q;
      end
    end
  end

  // ---- B: the weight words (per bank, a synchronous read of its own kernel copy) ----
  logic [NBK*WW-1:0] w_q;
  for (genvar b = 0; b < NBK; b++) begin : g_kernel
    logic [WW-1:0] wmem[0:WDEPTH-1];
    if (WEIGHTS_FILE != "") begin : g_load_wmem
      initial $readmemh(WEIGHTS_FILE, wmem);
    end
    always_ff @(posedge clk) w_q[b*WW+:WW] <= wmem[a_waddr_q[b*WAB+:WAB]];
  end
  logic [NBK-1:0] b_bank_q, b_mark_q, b_set_q;
  logic [NBK*DAB-1:0] b_addr_q;
  logic [NBK*EVB-1:0] b_val_q;
  always_ff @(posedge clk) begin
    b_addr_q <= a_addr_q;
    b_val_q <= a_val_q;
    b_set_q <= a_set_q;
    if (rst) begin
      b_bank_q <= '0;
      b_mark_q <= '0;
    end else begin
      b_bank_q <= a_bank_q;
      b_mark_q <= a_mark_q;
    end
  end

  // contributions per (bank, channel) and the stage that reads their words (U); the
  // addresses of the stage ahead of U, which the banks register as U's read addresses
  logic [NBK-1:0] u_bank, u_mark, u_set;
  logic [NBK*DAB-1:0] u_addr, p_addr;
  logic [NBK*CO*CB-1:0] u_add;
  if (ANALOG != 0) begin : g_analog
    // stage M: weight x input value, registered before the update
    logic [NBK-1:0] m_bank_q, m_mark_q, m_set_q;
    logic [NBK*DAB-1:0] m_addr_q;
    logic [NBK*CO*CB-1:0] m_add_q;
    for (genvar i = 0; i < NBK * CO; i++) begin : g_mul
      logic signed [WB-1:0] weight;
      logic signed [VW-1:0] value;  // unsigned inputs: zero-extended by one bit
      logic signed [PB-1:0] product;
      assign weight = w_q[i*WB+:WB];
      assign value = VW'(b_val_q[(i/CO)*EVB+:EVB]);
      assign product = weight * value;
      // CB > PB (generator): sign-extend the product
      always_ff @(posedge clk) m_add_q[i*CB+:CB] <= {{(CB - PB) {product[PB-1]}}, product};
    end
    always_ff @(posedge clk) begin
      m_addr_q <= b_addr_q;
      m_set_q <= b_set_q;
      if (rst) begin
        m_bank_q <= '0;
        m_mark_q <= '0;
      end else begin
        m_bank_q <= b_bank_q;
        m_mark_q <= b_mark_q;
      end
    end
    assign u_bank = m_bank_q;
    assign u_mark = m_mark_q;
    assign u_set = m_set_q;
    assign u_addr = m_addr_q;
    assign p_addr = b_addr_q;
    assign u_add = m_add_q;
  end else begin : g_binary
    for (genvar i = 0; i < NBK * CO; i++) begin : g_ext
      // CB > WB (generator): sign-extend the weight
      assign u_add[i*CB+:CB] = {{(CB - WB) {w_q[i*WB+WB-1]}}, w_q[i*WB+:WB]};
    end
    assign u_bank = b_bank_q;
    assign u_mark = b_mark_q;
    assign u_set = b_set_q;
    assign u_addr = b_addr_q;
    assign p_addr = a_addr_q;
    logic unused_val;
    assign unused_val = ^b_val_q;
  end

  // ---- IN_COLS: the update's add and write-back, one cycle after its read in U ----
  logic [NBK-1:0] w_bank_q, w_mark_q, w_set_q;
  logic [NBK*DAB-1:0] w_addr_q;
  logic [NBK*CO*CB-1:0] w_add_q;
  always_ff @(posedge clk) begin
    w_addr_q <= u_addr;
    w_add_q <= u_add;
    w_set_q <= u_set;
    if (rst) begin
      w_bank_q <= '0;
      w_mark_q <= '0;
    end else begin
      w_bank_q <= u_bank;
      w_mark_q <= u_mark;
    end
  end

  // ---- the banks: NSET sets, each bank a data memory and a 1-bit tag memory ----
  // A word holds a current of the set's present unit only if its tag equals the set's
  // epoch; otherwise it reads as zero. The neuron unit's last pass over a unit sets the
  // tag of every word it reads to the epoch, and freeing the set then flips the epoch:
  // every word becomes stale (zero) without writing the data memory. With two sets the
  // banks accumulate one while the neuron unit reads the other; a bank takes a set only
  // once it is freed, and the neuron unit reads one only once every bank is done with it.
  // Reads are synchronous (block RAM where the tools find it worth it) from a registered
  // address: an update reads its word in U (its address registered from the stage ahead)
  // and writes the sum in IN_COLS; the neuron unit's words come two cycles after its address.
  // An update that reads the word the update ahead of it is writing would read it
  // stale, so it takes that update's sum instead (the write before that has landed).
  logic [NSET-1:0] epoch_q;
  always_ff @(posedge clk) begin
    if (rst) epoch_q <= '0;
    else if (free) epoch_q[NSET > 1 ? 32'(free_set) : 0] <= !epoch_q[NSET > 1 ? 32'(free_set) : 0];
  end

  logic [2*NBK-1:0] landed;  // per set and bank: the unit's token has passed IN_COLS
  for (genvar st = 0; st < 2; st++) begin : g_done
    assign done[st] = &landed[st*NBK+:NBK];
  end
  for (genvar b = 0; b < NBK; b++) begin : g_bank
    logic [NSET*CO*CB-1:0] rd_set;
    logic [NSET-1:0] ok_set;
    logic [CO*CB-1:0] sum, sum_q;
    logic w_we, fwd_q;
    logic [1:0] landed_q;
    assign w_we = w_bank_q[b];
    always_ff @(posedge clk) begin
      sum_q <= sum;
      fwd_q <= u_bank[b] && w_we && u_addr[b*DAB+:DAB] == w_addr_q[b*DAB+:DAB] &&
               u_set[b] == w_set_q[b];
      // the token follows the bank's last update of its unit, so every write has landed
      for (int st = 0; st < 2; st++) begin
        if (rst || (free && free_set == st[0])) landed_q[st] <= 1'b0;
        else if (w_mark_q[b] && w_set_q[b] == st[0]) landed_q[st] <= 1'b1;
      end
    end
    assign landed[b] = landed_q[0];
    assign landed[NBK+b] = landed_q[1];
    for (genvar st = 0; st < NSET; st++) begin : g_set
      logic [CO*CB-1:0] mem[0:DEPTH-1];
      logic tag[0:DEPTH-1];
      logic [CO*CB-1:0] rd_q;
      logic ok_q;
      logic [DAB-1:0] ra_q, ta;  // read address; tag write address
      logic clr_q, nu_last_q;  // ra_q is a clear address; a neuron unit's last read
      logic we, tag_we, nu_owns;
      assign nu_owns = nu_en && (NSET == 1 || nu_set == st[0]);
      always_ff @(posedge clk) begin
        ra_q <= clr_en ? clr_addr : nu_owns ? nu_addr[b*DAB+:DAB] : p_addr[b*DAB+:DAB];
        clr_q <= clr_en;
        nu_last_q <= nu_owns && nu_last[b];
      end
      // the array writes only while it owns the set, so no tag write of the clear pass or
      // of the neuron unit's last pass meets it (the array takes a freed set's first event
      // several cycles after the free, which may share an edge with the last read's tag write)
      assign we = w_we && (NSET == 1 || w_set_q[b] == st[0]);
      assign ta = we ? w_addr_q[b*DAB+:DAB] : ra_q;
      assign tag_we = clr_q || we || nu_last_q;
      always_ff @(posedge clk) begin
        if (we) mem[w_addr_q[b*DAB+:DAB]] <= sum;
        rd_q <= mem[ra_q];
        ok_q <= tag[ra_q] == epoch_q[st];
        // the clear pass after reset marks words stale; updates and last reads mark them
        // current (stale after the flip, which may come at this very edge)
        if (tag_we) tag[ta] <= clr_q ? !epoch_q[st] : epoch_q[st];
      end
      assign rd_set[st*CO*CB+:CO*CB] = rd_q;
      assign ok_set[st] = ok_q;
    end
    // the update adds to the accumulated set's word (zero if stale)
    logic [CO*CB-1:0] rd_acc;
    logic ok_acc;
    assign rd_acc = (NSET > 1 && w_set_q[b]) ? rd_set[(NSET-1)*CO*CB+:CO*CB] : rd_set[0+:CO*CB];
    assign ok_acc = (NSET > 1 && w_set_q[b]) ? ok_set[NSET-1] : ok_set[0];
    for (genvar co = 0; co < CO; co++) begin : g_add
      logic [CB-1:0] base;
      assign base = fwd_q ? sum_q[co*CB+:CB] : ok_acc ? rd_acc[co*CB+:CB] : '0;
      assign sum[co*CB+:CB] = base + w_add_q[(b*CO+co)*CB+:CB];
    end
    for (genvar st = 0; st < NSET; st++) begin : g_out
      assign nu_rdata[(st*NBK+b)*CO*CB+:CO*CB] = rd_set[st*CO*CB+:CO*CB];
      assign nu_rvalid[st*NBK+b] = ok_set[st];
    end
  end
endmodule

`default_nettype wire
