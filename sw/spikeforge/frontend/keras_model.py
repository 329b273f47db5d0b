"""Read a Keras 3 model object into an :class:`~spikeforge.ir.AnnGraph`.

Only the layer configs and weight arrays are read; nothing is executed. The mapping is
the one every source shares (:mod:`.layers`); this module keeps the Keras-object entry
points.
"""

from __future__ import annotations

from typing import Any

from .. import ir
from .graph import records_to_graph
from .sources import load_keras_model, records_from_keras

__all__ = ["keras_to_graph", "load_keras_model"]


def keras_to_graph(model: Any) -> ir.AnnGraph:
    """The :class:`AnnGraph` of a built Keras model."""
    return records_to_graph(records_from_keras(model))
