"""Model readers: each source (Keras 3 models, Keras 2 JSON + H5 and full-model H5 files,
QKeras configs) yields layer records that one mapping turns into an
:class:`~spikeforge.ir.AnnGraph`."""

from ..errors import UnsupportedLayerError, refuse
from .errors import ModelFileError

__all__ = ["ModelFileError", "UnsupportedLayerError", "refuse"]
