"""The ANN baseline: the same Keras model through hls4ml (io_stream), C-simulated with
g++, so that the SNN core's accuracy can be put beside a conventional HLS accelerator's.

hls4ml's C simulation predicts one image per call on one thread (its speed on the MNIST
CNN: docs/figures/hls_csim.md): run it on a slice of the test set.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .options import DEFAULT_CLOCK_NS, DEFAULT_PART

# Weights and activations in 16-bit fixed point with 6 integer bits, rounded to nearest
# and saturating (truncation would cost accuracy: ../shared/TOOLCHAIN.md).
DEFAULT_PRECISION = "fixed<16,6,RND_CONV,SAT>"


class BaselineError(UserError):
    """The hls4ml baseline cannot be built."""


@dataclass
class BaselineResult:
    images: int
    precision: str
    accuracy: float  # hls4ml C simulation
    keras_accuracy: float  # the float Keras model on the same images
    agreement: float  # fraction of images where both predict the same class
    compile_seconds: float
    predict_seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.predict_seconds


def _rename_input(model):
    """hls4ml refuses a layer named 'input' (a reserved name)."""
    for layer in model.layers:
        if layer.name == "input":
            raise BaselineError(
                "the Keras model has a layer named 'input', which hls4ml refuses; rename it"
            )
    return model


def ann_baseline(
    model_path: Path,
    images: np.ndarray,
    labels: np.ndarray,
    workdir: Path,
    precision: str = DEFAULT_PRECISION,
    part: str = DEFAULT_PART,
    clock_ns: float = DEFAULT_CLOCK_NS,
    quiet: bool = True,
) -> BaselineResult:
    """Convert the Keras model with hls4ml, compile its C simulation and classify ``images``
    (uint8, scaled by 1/255 as in training)."""
    try:
        import hls4ml
    except ImportError as err:
        raise BaselineError(
            f"the ANN baseline needs hls4ml ({err}); pip install 'hls4ml==1.3.0'"
        ) from None
    from ..frontend.keras_model import load_keras_model
    from ..train import ann_predict

    model = _rename_input(load_keras_model(model_path))
    x = np.ascontiguousarray(images.astype(np.float32) / 255.0)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        try:
            config = hls4ml.utils.config_from_keras_model(
                model, granularity="model", default_precision=precision, backend="Vitis"
            )
            hls_model = hls4ml.converters.convert_from_keras_model(
                model,
                hls_config=config,
                output_dir=str(workdir),
                backend="Vitis",
                io_type="io_stream",
                part=part,
                clock_period=clock_ns,
            )
        except Exception as err:  # hls4ml reports unsupported layers with bare Exceptions
            raise BaselineError(
                f"hls4ml cannot convert {model_path} ({type(err).__name__}: {err}); the ANN "
                "baseline needs a model of layers hls4ml supports (custom layers such as "
                "ClipFloor are not)"
            ) from err
        start = time.perf_counter()
        hls_model.compile()
        compiled = time.perf_counter()
        scores = hls_model.predict(x)
        predicted = time.perf_counter()
    classes = np.argmax(np.asarray(scores).reshape(len(images), -1), axis=1)
    keras_classes = ann_predict(model, images)
    return BaselineResult(
        images=len(images),
        precision=precision,
        accuracy=float(np.mean(classes == labels)),
        keras_accuracy=float(np.mean(keras_classes == labels)),
        agreement=float(np.mean(classes == keras_classes)),
        compile_seconds=compiled - start,
        predict_seconds=predicted - compiled,
    )
