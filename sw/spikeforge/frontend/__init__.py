"""Model readers: each source (Keras 3 models, Keras 2 JSON + H5 and full-model H5 files,
QKeras configs) yields layer records that one mapping turns into an
:class:`~spikeforge.ir.AnnGraph`."""

from .errors import ModelFileError, UnsupportedLayerError, refuse

__all__ = ["ModelFileError", "UnsupportedLayerError", "refuse"]
