"""Model readers: each turns a trained model into an :class:`~spikeforge.ir.AnnGraph`."""

from .errors import UnsupportedLayerError, refuse

__all__ = ["UnsupportedLayerError", "refuse"]
