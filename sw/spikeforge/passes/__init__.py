"""Rewrites of the ANN graph and the steps from it to the integer spiking network."""
