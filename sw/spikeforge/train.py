"""Training the reference architectures (imports Keras)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import (
    __version__,
    tf_env,  # noqa: F401  (before any keras import: silences TensorFlow's logs)
)
from .architectures import ARCHITECTURES, RELU, Activation
from .datasets import Dataset
from .ir import ann_view

# A member of the .keras archive (Keras ignores it) that marks a model spikeforge trained.
TRAINED_MARKER = "spikeforge.json"


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
    """Train ``arch`` on ``dataset`` (as ``ir.ann_view`` shows it); returns the model."""
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
        ann_view(images),
        labels,
        batch_size=batch_size,
        epochs=epochs,
        verbose=0 if quiet else 2,
    )
    return model


def ann_predict(model: Any, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class predictions of a Keras model on data as ``ir.ann_view`` shows it; a one-unit
    (sigmoid) output is the two classes (p <= 0.5, p > 0.5), as the converter reads it."""
    outputs = model.predict(ann_view(images), batch_size=batch_size, verbose=0)
    if outputs.shape[-1] == 1:
        return (outputs[:, 0] > 0.5).astype(np.int64)
    return np.argmax(outputs, axis=-1)


def is_trained_model(path: Path) -> bool:
    """Whether ``path`` is a .keras archive that :func:`save_model` wrote."""
    try:
        with zipfile.ZipFile(path) as archive:
            return TRAINED_MARKER in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def save_model(model: Any, path: Path) -> None:
    """Save atomically with the spikeforge marker: write next to the target, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        model.save(partial)
        with zipfile.ZipFile(partial, "a") as archive:
            marker = {"kind": "trained model", "written_by": f"spikeforge {__version__}"}
            archive.writestr(TRAINED_MARKER, json.dumps(marker))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
