"""Against real Keras 2 and QKeras: files they write read back into graphs that compute what
they compute. Needs a second Python with tf-keras 2.x and QKeras (QKeras pins numpy<2, so
not the project venv): set SPIKEFORGE_KERAS2_PYTHON to it (docs/import.md shows how)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spikeforge import ir
from spikeforge.ann_numpy import apply_layer
from spikeforge.frontend.graph import load_graph
from spikeforge.frontend.layers import _quantized
from spikeforge.frontend.sources import read_model

PYTHON = os.environ.get("SPIKEFORGE_KERAS2_PYTHON")
pytestmark = pytest.mark.skipif(
    not PYTHON, reason="set SPIKEFORGE_KERAS2_PYTHON to a Python with tf-keras 2.x and qkeras "
    "(see docs/import.md) to cross-check against real Keras 2 / QKeras files")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("keras2")
    script = Path(__file__).with_name("keras2_reference.py")
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([PYTHON, str(script), str(out)], check=True, env=env, capture_output=True)
    return out


def predict_qkeras(graph: ir.AnnGraph, images: np.ndarray) -> np.ndarray:
    """The graph with QKeras' quantized_relu rounding (ties to even, as tf.round)."""
    x = images.astype(np.float32) / 255.0
    for layer in graph.layers:
        spec = layer.spec if isinstance(layer, ir.ReLU) else getattr(layer, "relu", None)
        if spec is None or spec.levels is None:
            x = apply_layer(layer, x)
            continue
        if not isinstance(layer, ir.ReLU):
            x = apply_layer(dataclasses.replace(layer, relu=None), x)
        steps = np.clip(np.round(x * np.float32(spec.levels / spec.cap)), 0, spec.levels)
        x = (steps * np.float32(spec.cap / spec.levels)).astype(np.float32)
    return x


@pytest.mark.parametrize("name", ["qseq", "func"])
@pytest.mark.parametrize("form", ["json", "full"])
def test_real_files_compute_what_keras2_computes(written, name, form):
    ref = np.load(written / "reference.npz")
    args = ((written / f"{name}.json", written / f"{name}_weights.h5") if form == "json"
            else (written / f"{name}_full.h5",))
    outputs = predict_qkeras(load_graph(*args), ref[f"{name}/images"])
    np.testing.assert_allclose(outputs, ref[f"{name}/outputs"], rtol=1e-5, atol=1e-6)
    for record in read_model(*args).layers:
        for key in ("kernel", "bias"):
            if f"{name}/{record.name}/{key}" in ref:
                expected = ref[f"{name}/{record.name}/{key}"].astype(np.float64)
                assert np.array_equal(_quantized(record, key), expected)
