"""Write real Keras 2 / QKeras model files and their outputs, for the cross-check.

Runs under a Python with tf-keras 2.x and QKeras (not the project venv), with
TF_USE_LEGACY_KERAS=1: ``python tests/keras2_reference.py OUT_DIR``. Writes, per model,
``NAME.json`` + ``NAME_weights.h5`` + ``NAME_full.h5`` and ``reference.npz`` with the
images, the model outputs and every QKeras layer's quantized kernel and bias.
"""

from __future__ import annotations

import sys

import numpy as np
import tf_keras as keras
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

L = keras.layers


def models():
    keras.utils.set_random_seed(1)
    qseq = keras.Sequential([
        L.InputLayer((10, 10, 1), name="image"),
        QConv2D(4, 3, padding="same", kernel_quantizer=quantized_bits(4, 0, alpha=1),
                bias_quantizer=quantized_bits(6, 2, alpha=1), name="qc1"),
        QActivation("quantized_relu(3,1)", name="qa1"),
        L.MaxPooling2D(2, name="mp"),
        QConv2D(6, (3, 2), strides=(1, 2), kernel_quantizer=quantized_bits(4, 0),
                bias_quantizer=quantized_bits(8, 3), activation=quantized_relu(4, 2), name="qc2"),
        L.Flatten(name="fl"),
        QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha="auto"),
               bias_quantizer="quantized_bits(6,2,1)", name="qd1"),
        QActivation(quantized_relu(2, 0), name="qa2"),
        QDense(3, kernel_quantizer="quantized_bits(5,1)", name="qd2"),
        L.Activation("softmax", name="sm")], name="qseq")
    inputs = keras.Input((9, 9, 2), name="input")
    x = L.BatchNormalization(name="bn_in")(inputs)
    x = L.Conv2D(3, (3, 2), strides=2, use_bias=False, name="c")(x)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ReLU(max_value=2.0, name="r")(x)
    x = L.AveragePooling2D(2, strides=1, name="ap")(x)
    x = L.Reshape((-1,), name="rs")(x)
    x = L.Dropout(0.3, name="do")(x)
    x = L.Dense(4, activation="relu", name="d1")(x)
    x = L.Dense(2, activation="softmax", name="d")(x)
    return {"qseq": qseq, "func": keras.Model(inputs, x, name="func")}


def main(out: str) -> None:
    rng = np.random.default_rng(0)
    reference = {}
    for name, model in models().items():
        for layer in model.layers:
            if isinstance(layer, L.BatchNormalization):
                layer.set_weights([rng.uniform(0.5, 1.5, w.shape) if "gamma" in w.name or
                                   "variance" in w.name else rng.normal(0, 0.3, w.shape)
                                   for w in layer.weights])
        images = rng.integers(0, 256, (32, *model.input_shape[1:])).astype(np.uint8)
        reference[f"{name}/images"] = images
        reference[f"{name}/outputs"] = model.predict(images.astype("float32") / 255, verbose=0)
        for layer in model.layers:
            for key in ("kernel", "bias"):
                quantizer = getattr(layer, f"{key}_quantizer_internal", None)
                if quantizer is not None:
                    reference[f"{name}/{layer.name}/{key}"] = np.asarray(
                        quantizer(getattr(layer, key)))
        with open(f"{out}/{name}.json", "w") as f:
            f.write(model.to_json())
        model.save_weights(f"{out}/{name}_weights.h5")
        model.save(f"{out}/{name}_full.h5")
    np.savez(f"{out}/reference.npz", **reference)


if __name__ == "__main__":
    main(sys.argv[1])
