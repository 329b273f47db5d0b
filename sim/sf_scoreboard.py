"""Reference model and scoreboard: the golden model's answer for what the bench sent,
compared with ``==`` on every count, class and saturation total (spikeforge.verify)."""

from __future__ import annotations

import numpy as np

from spikeforge.ir import Network
from spikeforge.verify import BackendResult, compare, golden


class Scoreboard:
    def __init__(self, net: Network) -> None:
        self.net = net
        self.log: list[str] = []

    def check(self, name: str, images: np.ndarray, timesteps: int, result: BackendResult) -> dict:
        """Compare ``result`` with the golden model on ``images``; a JSON-able verdict."""
        expected = golden(self.net, images, timesteps)
        verdict = compare(result, expected)
        self.log.append(f"{name}: {verdict.describe()}")
        return {
            "mismatched_images": verdict.mismatched_images,
            "saturation_equal": verdict.saturation_equal,
            "expected_classes": expected.classes.tolist(),
            "expected_saturation": expected.saturation.sum(axis=0).tolist(),
            "ok": verdict.ok,
        }
