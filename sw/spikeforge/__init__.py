"""spikeforge: Keras CNN -> integrate-and-fire spiking network -> FPGA."""

__version__ = "0.1.0"
