"""The core for Vivado: an IP repository IP integrator can use (the RTL core packaged with
``ipx::``, or the Vitis HLS export copied), and an out-of-context timing script whose
result file ``spikeforge report`` reads back (docs/vivado-ip.md)."""
