"""Fixtures of the driver tests, which run in .venv-pynq (`make test-pynq`).

The pynq venv has no TensorFlow, so the real MNIST network is made in the main .venv by
`make test-pynq` (train 2 epochs on the 60,000 training images, convert) and handed over
through SPIKEFORGE_PYNQ_TEST_NET. Random integer networks (tests/netgen.py) need nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_net_dir() -> Path:
    value = os.environ.get("SPIKEFORGE_PYNQ_TEST_NET")
    if not value:
        pytest.skip(
            "SPIKEFORGE_PYNQ_TEST_NET is not set: `make test-pynq` converts an MNIST network "
            "in .venv and passes its directory"
        )
    path = Path(value)
    if not (path / "snn.json").is_file():
        pytest.fail(f"SPIKEFORGE_PYNQ_TEST_NET={value} holds no snn.json; run `make test-pynq`")
    return path


@pytest.fixture(scope="session")
def real_net(real_net_dir):
    from spikeforge.netdir import load_int_network

    return load_int_network(real_net_dir)
