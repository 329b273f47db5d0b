"""Errors raised while reading or converting a model."""

from __future__ import annotations

from ..errors import UserError


class UnsupportedLayerError(UserError, ValueError):
    """A layer (or a setting of one) that the spiking network cannot express.

    ``layer`` is the name of the model layer at fault, where one is."""

    def __init__(self, message: str, layer: str | None = None) -> None:
        super().__init__(message)
        self.layer = layer


class ModelFileError(UserError):
    """A model file that is missing or cannot be read."""


def refuse(name: str, layer_type: str, setting: str, fix: str) -> UnsupportedLayerError:
    """The error for a layer whose ``setting`` cannot be converted, with the ``fix``."""
    return UnsupportedLayerError(
        f"layer '{name}' ({layer_type}): {setting} is not supported; {fix}", layer=name
    )
