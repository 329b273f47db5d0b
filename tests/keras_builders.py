"""Small Keras models with random (untrained) weights for frontend and pass tests."""

from __future__ import annotations

import numpy as np


def randomize_batchnorm(model, seed: int = 0) -> None:
    """Give every BatchNormalization non-trivial statistics and affine parameters."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            weights = []
            for w in layer.weights:
                name = w.name.split("/")[-1]
                size = w.shape
                if "variance" in name:
                    weights.append(rng.uniform(0.5, 2.0, size))
                elif "gamma" in name:
                    weights.append(rng.uniform(0.5, 1.5, size) * rng.choice([-1, 1], size))
                else:
                    weights.append(rng.normal(0, 0.3, size))
            layer.set_weights(weights)


def sequential(input_shape, layer_list, seed: int = 0, name: str = "test_model"):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(input_shape), *layer_list], name=name)
    randomize_batchnorm(model, seed)
    return model


def keras_predict(model, images: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(images.astype(np.float32) / 255.0, verbose=0))


def everything_model(seed: int = 0):
    """A model with every supported construct."""
    from keras import layers

    return sequential(
        (12, 12, 2),
        [
            layers.Conv2D(4, 3, padding="same", name="c1"),
            layers.BatchNormalization(name="bn1"),
            layers.ReLU(name="r1"),
            layers.MaxPooling2D(2, name="p1"),
            layers.Conv2D(6, (3, 2), strides=(1, 2), name="c2", activation="relu"),
            layers.BatchNormalization(name="bn2"),
            layers.Conv2D(5, 1, name="c3"),
            layers.Activation("relu", name="a3"),
            layers.AveragePooling2D(2, name="avg"),
            layers.Flatten(name="flat"),
            layers.Dropout(0.5, name="drop"),
            layers.Dense(7, name="d1"),
            layers.BatchNormalization(name="bn3"),
            layers.ReLU(name="r4"),
            layers.Dense(3, activation="softmax", name="out"),
        ],
        seed,
    )


def random_images(shape, count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)
