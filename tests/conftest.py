"""Shared fixtures: MNIST, a small trained MNIST CNN and its converted network.

The converted network is built once per test session (under a minute: the reference
architecture trained for two epochs on the 60,000 training images, about 98% accurate) and
reused by every test that needs a real network (HLS csim, RTL, driver).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mnist():
    from spikeforge.datasets import load_dataset

    return load_dataset("mnist", quiet=True)


@pytest.fixture(scope="session")
def mnist_model_path(mnist, tmp_path_factory) -> Path:
    """The reference mnist-cnn, briefly trained (accuracy about 98%)."""
    from spikeforge.train import save_model, train_model

    model = train_model("mnist-cnn", mnist, epochs=2, quiet=True)
    path = tmp_path_factory.mktemp("model") / "mnist-cnn.keras"
    save_model(model, path)
    return path


@pytest.fixture(scope="session")
def mnist_net_dir(mnist, mnist_model_path, tmp_path_factory) -> Path:
    """``spikeforge convert`` output for the session's MNIST model (T=32 default)."""
    from spikeforge.cli import main

    out = tmp_path_factory.mktemp("net") / "net"
    code = main(
        [
            "convert",
            str(mnist_model_path),
            "--dataset",
            "mnist",
            "--out",
            str(out),
            "--calibration",
            "2000",
            "--quiet",
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, mnist) -> Path:
    """The reference mnist-cnn trained for one epoch on 1,500 images (CLI tests)."""
    from spikeforge.cli import main

    path = tmp_path_factory.mktemp("cli") / "tiny.keras"
    assert main(["train", "--arch", "mnist-cnn", "--dataset", "mnist", "--out", str(path),
                 "--epochs", "1", "--limit", "1500", "--quiet"]) == 0
    return path


@pytest.fixture(scope="session")
def tiny_net(tiny_model, tmp_path_factory) -> Path:
    """``spikeforge convert`` of the tiny model at T = 16 (CLI tests)."""
    from spikeforge.cli import main

    out = tmp_path_factory.mktemp("cli") / "net"
    assert main(["convert", str(tiny_model), "--dataset", "mnist", "--out", str(out),
                 "--calibration", "500", "--timesteps", "16", "--norm", "99", "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def mnist_net(mnist_net_dir):
    from spikeforge.netdir import load_int_network

    return load_int_network(mnist_net_dir)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
