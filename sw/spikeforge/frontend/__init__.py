"""Model readers: each turns a trained model into an :class:`~spikeforge.ir.AnnGraph`."""

from .errors import ModelFileError, UnsupportedLayerError, refuse

__all__ = ["ModelFileError", "UnsupportedLayerError", "refuse"]
