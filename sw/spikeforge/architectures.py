"""Reference Keras architectures (imports Keras; not needed on the board).

Every hidden activation comes from an :class:`Activation` factory: a plain ReLU, or the
clip-floor activation (``spikeforge.keras_layers.ClipFloor``) for low-latency conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACTIVATIONS = ("relu", "clip-floor")


@dataclass(frozen=True)
class Activation:
    """Which hidden activation the reference architectures use."""

    kind: str = "relu"
    levels: int = 8
    rate_penalty: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ACTIVATIONS:
            raise ValueError(f"activation {self.kind!r}: choose from {', '.join(ACTIVATIONS)}")
        if self.rate_penalty and self.kind != "clip-floor":
            raise ValueError(
                f"a rate penalty ({self.rate_penalty:g}) needs the clip-floor activation "
                f"(its threshold sets the spike rate); got {self.kind!r}"
            )

    def __call__(self, name: str) -> Any:
        from keras import layers

        if self.kind == "relu":
            return layers.ReLU(name=name)
        from .keras_layers import ClipFloor

        return ClipFloor(self.levels, rate_penalty=self.rate_penalty, name=name)


RELU = Activation()


def mnist_cnn(input_shape: tuple[int, int, int], num_classes: int, act: Activation = RELU) -> Any:
    """A small MNIST CNN that fits a Zynq-7020 on chip (about 18k weights)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(input_shape, name="image"),
            layers.Conv2D(16, 5, use_bias=True, name="conv1"),
            layers.BatchNormalization(name="bn1"),
            act("relu1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(32, 5, name="conv2"),
            layers.BatchNormalization(name="bn2"),
            act("relu2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.25, name="dropout"),
            layers.Dense(num_classes, activation="softmax", name="logits"),
        ],
        name="mnist_cnn",
    )


def cifar10_cnn(input_shape: tuple[int, int, int], num_classes: int, act: Activation = RELU) -> Any:
    """The CIFAR-10 net of Rueckauer et al. 2016 (section 4.1): 4 conv 32-32-64-64 3x3 with
    BatchNorm, 2x2 max-pool after conv 2 and 4, Dense 512, Dense 10."""
    import keras
    from keras import layers

    def conv_block(filters: int, name: str) -> list[Any]:
        return [
            layers.Conv2D(filters, 3, padding="same", name=name),
            layers.BatchNormalization(name=f"{name}_bn"),
            act(f"{name}_relu"),
        ]

    return keras.Sequential(
        [
            keras.Input(input_shape, name="image"),
            *conv_block(32, "conv1"),
            *conv_block(32, "conv2"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Dropout(0.1, name="drop1"),
            *conv_block(64, "conv3"),
            *conv_block(64, "conv4"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Dropout(0.2, name="drop2"),
            layers.Flatten(name="flatten"),
            layers.Dense(512, name="fc1"),
            layers.BatchNormalization(name="fc1_bn"),
            act("fc1_relu"),
            layers.Dropout(0.3, name="drop3"),
            layers.Dense(num_classes, activation="softmax", name="logits"),
        ],
        name="cifar10_cnn",
    )


ARCHITECTURES: dict[str, Callable[..., Any]] = {
    "mnist-cnn": mnist_cnn,
    "cifar10-cnn": cifar10_cnn,
}
