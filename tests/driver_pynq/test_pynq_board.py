"""On a real PYNQ board: the bitstream's core equals the golden model and refuses what it
must. They skip here (no board). On the board, with a bundle built with a bitstream:

    SPIKEFORGE_BOARD_BUNDLE=/home/xilinx/jupyter_notebooks/spikeforge \\
        python3 -m pytest -m board tests/driver_pynq
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip(
    "pynq", reason="pynq is not installed here: `make test-pynq` runs these in .venv-pynq"
)

import dataclasses

import numpy as np

from spikeforge.driver import SpikeforgeAccelerator
from spikeforge.driver.bundle import Bundle
from spikeforge.driver.errors import (
    BatchTooLargeError,
    BuildIdMismatchError,
    TimestepsError,
)
from spikeforge.verify import BackendResult, compare, golden

pytestmark = [pytest.mark.board, pytest.mark.pynq]


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    import pynq

    if not pynq.ps.ON_TARGET:
        pytest.skip("no PYNQ board here (pynq.ps.ON_TARGET is False); run on the board")
    path = os.environ.get("SPIKEFORGE_BOARD_BUNDLE")
    if not path:
        pytest.skip("set SPIKEFORGE_BOARD_BUNDLE to a `spikeforge package` bundle with a bitstream")
    bundle = Bundle.open(path)
    if bundle.bitstream is None:
        pytest.fail(f"{path} was packaged with --no-bitstream; package it with the overlay")
    return bundle


@pytest.fixture(scope="module")
def acc(bundle):
    return SpikeforgeAccelerator.from_bundle(bundle, "board", batch_size=128)


def test_board_equals_the_golden_model_on_mnist(acc, bundle):
    images = bundle.test_set()[0][:300]
    for steps in (acc.timesteps, 5):
        counts, classes = acc.classify(images, steps)
        run = acc.last_run
        result = BackendResult("board", steps, counts, classes, run.saturation, run.cycles)
        comparison = compare(result, golden(acc.net, images, steps))
        assert comparison.ok, comparison.describe()
        assert run.cycles > 0 and run.core_seconds is not None


def test_board_buffers_are_reused(acc, bundle):
    images = bundle.test_set()[0][:200]
    buffers = (acc._in, acc._out)
    acc.classify(images)
    assert (acc._in, acc._out) == buffers and acc.last_run.starts == 2


def test_board_refuses_what_it_cannot_run(acc, bundle):
    images = bundle.test_set()[0][:129]
    with pytest.raises(BatchTooLargeError):
        acc.classify_batch(images)
    with pytest.raises(TimestepsError):
        acc.classify(images[:1], acc.max_timesteps + 1)
    net = bundle.network()
    first = net.layers[0]
    weights = first.weights.copy()
    weights.flat[0] += 1 if weights.flat[0] < 0 else -1
    other = dataclasses.replace(net, layers=[dataclasses.replace(first, weights=weights),
                                             *net.layers[1:]])
    with pytest.raises(BuildIdMismatchError):
        SpikeforgeAccelerator(acc.overlay, other)
    expected = golden(net, images[:3], acc.timesteps).counts
    assert np.array_equal(acc.classify(images[:3])[0], expected)
