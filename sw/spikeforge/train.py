"""Training the reference architectures (imports Keras)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import tf_env  # noqa: F401  (before any keras import: silences TensorFlow's logs)
from .architectures import ARCHITECTURES, RELU, Activation
from .datasets import Dataset


def build_model(arch: str, dataset: Dataset, activation: Activation = RELU) -> Any:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](dataset.input_shape, dataset.num_classes, activation)


def train_model(
    arch: str,
    dataset: Dataset,
    epochs: int = 10,
    batch_size: int = 128,
    seed: int = 0,
    limit: int | None = None,
    quiet: bool = False,
    activation: Activation = RELU,
) -> Any:
    """Train ``arch`` on ``dataset`` (uint8 images scaled to [0, 1]); returns the model."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(arch, dataset, activation)
    images, labels = dataset.train_images, dataset.train_labels
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    steps = -(-len(images) // batch_size) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.02)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        images.astype(np.float32) / 255.0,
        labels,
        batch_size=batch_size,
        epochs=epochs,
        verbose=0 if quiet else 2,
    )
    return model


def ann_predict(model: Any, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class predictions of a Keras model on uint8 images."""
    x = images.astype(np.float32) / 255.0
    return np.argmax(model.predict(x, batch_size=batch_size, verbose=0), axis=-1)


def save_model(model: Any, path: Path) -> None:
    """Save atomically: write next to the target, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    model.save(partial)
    partial.replace(path)
