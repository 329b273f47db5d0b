"""Errors raised while reading a model file (a layer the network cannot express raises
spikeforge.errors.UnsupportedLayerError)."""

from __future__ import annotations

from ..errors import UserError


class ModelFileError(UserError):
    """A model file that is missing or cannot be read."""
