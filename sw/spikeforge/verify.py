"""What a hardware backend returns, and its exact comparison with the golden model.

Every backend (HLS C-simulation, RTL simulation, the board driver and its simulated
device) reports a :class:`BackendResult`; :func:`compare` checks it against the golden
model with ``==`` on every count, class and saturation total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .ir import Network
from .simulator import SimResult, simulate


def check_labels(labels: np.ndarray, num_classes: int) -> None:
    """Raise UserError unless every label is one of the network's classes 0 .. K-1."""
    outside = labels[(labels < 0) | (labels >= num_classes)]
    if outside.size:
        raise UserError(
            f"{outside.size} of {labels.size} labels (e.g. {int(outside[0])}) are outside "
            f"0 .. {num_classes - 1}, the network's {num_classes} classes; evaluate on the "
            "dataset the network was trained for"
        )


@dataclass
class BackendResult:
    backend: str
    timesteps: int
    counts: np.ndarray  # (N, K) output spike counts
    classes: np.ndarray  # (N,)
    saturation: np.ndarray  # (L,) clamp events per neuron layer, summed over all images
    cycles: int | None = None  # clock cycles of the whole run, where the backend knows
    status: int = 0  # the STATUS register after the run


def concatenate(parts: list[BackendResult]) -> BackendResult:
    """One result for consecutive runs of the same backend and T (image chunks)."""
    cycles = [p.cycles for p in parts]
    return BackendResult(
        backend=parts[0].backend,
        timesteps=parts[0].timesteps,
        counts=np.concatenate([p.counts for p in parts]),
        classes=np.concatenate([p.classes for p in parts]),
        saturation=np.sum([p.saturation for p in parts], axis=0),
        cycles=None if None in cycles else sum(int(c) for c in cycles),
        status=int(np.bitwise_or.reduce([p.status for p in parts])),
    )


@dataclass
class Comparison:
    images: int
    mismatched_images: list[int]
    saturation_equal: bool

    @property
    def ok(self) -> bool:
        return not self.mismatched_images and self.saturation_equal

    def describe(self) -> str:
        if self.ok:
            return f"{self.images} images: all counts, classes and saturation totals equal"
        head = ", ".join(map(str, self.mismatched_images[:10]))
        return (
            f"{len(self.mismatched_images)} of {self.images} images differ (first: {head}); "
            f"saturation totals {'equal' if self.saturation_equal else 'differ'}"
        )


def golden(net: Network, images: np.ndarray, timesteps: int) -> SimResult:
    """The golden model's result (the spec) for ``images``."""
    if not net.is_integer:
        raise ValueError("the golden model runs the integer network (snn.json), not the float one")
    return simulate(net, images, timesteps)


def compare(result: BackendResult, expected: SimResult) -> Comparison:
    """Exact comparison of a backend's outputs with the golden model's."""
    if result.counts.shape != expected.counts.shape:
        raise ValueError(
            f"{result.backend} returned counts of shape {result.counts.shape}, the golden model "
            f"{expected.counts.shape}"
        )
    differs = (result.counts != expected.counts).any(axis=1) | (result.classes != expected.classes)
    saturation_equal = bool(np.array_equal(result.saturation, expected.saturation.sum(axis=0)))
    return Comparison(len(differs), [int(i) for i in np.flatnonzero(differs)], saturation_equal)
