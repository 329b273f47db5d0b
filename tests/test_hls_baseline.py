"""The hls4ml ANN baseline: the session's Keras model through hls4ml, C-simulated."""

from __future__ import annotations

import pytest

from spikeforge.hls.baseline import ann_baseline

pytestmark = pytest.mark.csim


def test_hls4ml_baseline_agrees_with_keras(mnist, mnist_model_path, tmp_path):
    images, labels = mnist.test_images[:60], mnist.test_labels[:60]
    result = ann_baseline(mnist_model_path, images, labels, tmp_path / "hls4ml")
    # 16-bit fixed point with rounding: the ANN's decisions survive (statistically: the
    # ANN is not bit-exact by design, docs/hls.md)
    assert result.agreement >= 0.95
    assert result.accuracy >= result.keras_accuracy - 0.05
    assert result.images == 60 and result.predict_seconds > 0
