"""Keras layers for training networks that convert losslessly (imports Keras).

``ClipFloor`` is the quantization-clip-floor-shift activation (QCFS, Bu et al. 2022; the
"clip-floor" of the low-latency conversion literature): with a trainable threshold lambda
and L levels,

    y = lambda / L * clip(floor(x * L / lambda + 1/2), 0, L).

An integrate-and-fire neuron with threshold lambda, reset by subtraction and a membrane
that starts at lambda / 2 emits exactly ``clip(floor(x * L / lambda + 1/2), 0, L)`` spikes
in T = L steps for a constant input x, so a network trained with it converts with little
loss at T close to L. The gradient is the straight-through estimate of ``clip(x, 0,
lambda)``, which also trains lambda.

With ``rate_penalty`` > 0 the layer adds ``rate_penalty * mean(y / lambda)`` to the
training loss: y / lambda is the converted neuron's spikes per timestep, so the penalty
trains a network that fires (and makes the next layer add) less at the same T.
"""

from __future__ import annotations

from typing import Any

from . import tf_env  # noqa: F401  (before keras: silences TensorFlow's C++ logs)

# isort: split
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="spikeforge")
class ClipFloor(keras.layers.Layer):
    """Clip at a trainable threshold, floor to ``levels`` steps, shift by half a step."""

    def __init__(
        self,
        levels: int = 8,
        initial_threshold: float = 3.0,
        rate_penalty: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if levels < 1:
            raise ValueError(f"levels={levels} must be at least 1")
        if not initial_threshold > 0:
            raise ValueError(f"initial_threshold={initial_threshold} must be positive")
        if not rate_penalty >= 0:
            raise ValueError(f"rate_penalty={rate_penalty} must be zero or positive")
        self.levels = int(levels)
        self.initial_threshold = float(initial_threshold)
        self.rate_penalty = float(rate_penalty)

    def build(self, input_shape: Any) -> None:
        self.threshold = self.add_weight(
            name="threshold",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_threshold),
            constraint=keras.constraints.NonNeg(),
            trainable=True,
        )

    def call(self, x: Any) -> Any:
        lam = ops.maximum(self.threshold, 1e-3)
        clipped = ops.clip(x, 0.0, lam)
        steps = ops.clip(ops.floor(x * (self.levels / lam) + 0.5), 0.0, float(self.levels))
        quantized = steps * (lam / self.levels)
        y = clipped + ops.stop_gradient(quantized - clipped)
        if self.rate_penalty > 0:
            self.add_loss(self.rate_penalty * ops.mean(y / lam))
        return y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "levels": self.levels,
            "initial_threshold": self.initial_threshold,
            "rate_penalty": self.rate_penalty,
        }
