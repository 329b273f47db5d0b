"""The SystemVerilog core's generator, simulation runner and synthesis reports.

``hw/rtl`` holds the hand-written, parametrized SystemVerilog; this package derives
everything network-specific from the IR (:mod:`.generate`: the ``sf_params`` package and
``$readmemh`` files), runs the core in Verilator under cocotb (:mod:`.runner`) and reports
what it costs in an FPGA (:mod:`.synth`).
"""
