// sf_util: helpers every module of the core shares (hand-written; the generated
// per-network numbers are in sf_params).

package sf_util;
  // bits that index n values (at least 1); sw/spikeforge/rtl/tables.py bits() is the same rule
  function automatic integer bits(input integer n);
    bits = (n <= 2) ? 1 : $clog2(n);
  endfunction
endpackage
