"""The errors caused by the user's input, reported by the CLI without a trace."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: the message names the problem and the fix."""


class UnsupportedLayerError(UserError, ValueError):
    """A layer (or a setting of one) that the spiking network cannot express.

    ``layer`` is the name of the model layer at fault, where one is."""

    def __init__(self, message: str, layer: str | None = None) -> None:
        super().__init__(message)
        self.layer = layer


def refuse(name: str, layer_type: str, setting: str, fix: str) -> UnsupportedLayerError:
    """The error for a layer whose ``setting`` cannot be converted, with the ``fix``."""
    return UnsupportedLayerError(
        f"layer '{name}' ({layer_type}): {setting} is not supported; {fix}", layer=name
    )
