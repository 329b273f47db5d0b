"""The driver against the simulated device equals the golden model, with `==`.

The real code path runs: pynq's MMIO, allocate and DMA driver, the core's DefaultIP bound by
VLNV, register writes, the ap_start/ap_done handshake and one DMA transfer per image.
"""

from __future__ import annotations

import pytest

pytest.importorskip(
    "pynq", reason="pynq is not installed here: `make test-pynq` runs these in .venv-pynq"
)

import numpy as np

from netgen import random_images, random_network
from spikeforge.driver import SpikeforgeAccelerator
from spikeforge.driver.ip import SpikeforgeCore
from spikeforge.verify import BackendResult, compare, golden

pytestmark = pytest.mark.pynq


def _check(acc: SpikeforgeAccelerator, images: np.ndarray, timesteps: int) -> None:
    counts, classes = acc.classify(images, timesteps)
    run = acc.last_run
    result = BackendResult("pynq-sim", timesteps, counts, classes, run.saturation, run.cycles)
    comparison = compare(result, golden(acc.net, images, timesteps))
    assert comparison.ok, comparison.describe()


@pytest.mark.parametrize("seed", range(8))
def test_random_networks_equal_the_golden_model(seed):
    net = random_network(seed)
    images = random_images(seed, net, 13)
    acc = SpikeforgeAccelerator.simulated(net, batch_size=5)
    steps = int(np.random.default_rng(seed).integers(1, net.config.max_timesteps + 1))
    _check(acc, images, steps)
    assert acc.last_run.starts == 3 and acc.last_run.images == 13


def test_saturating_networks_report_the_golden_saturation_totals():
    saturating = []
    for seed in range(40):
        net = random_network(seed)
        images = random_images(seed, net, 6)
        if golden(net, images, net.config.max_timesteps).saturation.sum():
            saturating.append((net, images))
        if len(saturating) == 3:
            break
    assert len(saturating) == 3, "netgen should draw saturating networks"
    for net, images in saturating:
        acc = SpikeforgeAccelerator.simulated(net, batch_size=4)
        _check(acc, images, net.config.max_timesteps)
        assert acc.last_run.saturation.sum() > 0


def test_real_mnist_network_equals_the_golden_model(real_net, mnist):
    images = mnist.test_images[:240]
    acc = SpikeforgeAccelerator.simulated(real_net, batch_size=100)
    _check(acc, images, real_net.config.timesteps)
    counts, _ = acc.classify(images[:60], 7)
    assert np.array_equal(counts, golden(real_net, images[:60], 7).counts)
    accuracy = float((acc.classify(images)[1] == mnist.test_labels[:240]).mean())
    assert accuracy > 0.9, f"a trained MNIST network classifies, got {accuracy:.3f}"


def test_buffers_are_allocated_once_and_reused(real_net, mnist):
    acc = SpikeforgeAccelerator.simulated(real_net, batch_size=16)
    device = acc.overlay.device
    assert device.memory.allocations == 2
    for n in (16, 40, 3):
        acc.classify(mnist.test_images[:n])
    assert device.memory.allocations == 2
    in_lo = acc._in.physical_address
    out_lo = acc._out.physical_address
    sends = device.dma.mm2s.transfers
    receives = device.dma.s2mm.transfers
    assert len(sends) == len(receives) == 16 + 40 + 3
    assert all(in_lo <= addr and addr + size <= in_lo + acc._in.nbytes for addr, size in sends)
    out_hi = out_lo + acc._out.nbytes
    assert all(out_lo <= addr and addr + size <= out_hi for addr, size in receives)
    assert device.core.runs == 1 + 3 + 1  # one ap_start per batch of at most 16


def test_the_overlay_binds_the_core_driver_by_vlnv(real_net):
    acc = SpikeforgeAccelerator.simulated(real_net)
    assert isinstance(acc.overlay.snn_core, SpikeforgeCore)
    assert type(acc.overlay.axi_dma).__module__ == "pynq.lib.dma"
    core = acc.core
    assert core.build_id == core.read_register("BUILD_ID")
    assert core.max_timesteps == real_net.config.max_timesteps
    core.write_register("TIMESTEPS", 9)
    assert core.read_register("TIMESTEPS") == 9
    with pytest.raises(PermissionError, match="CYCLES is read-only"):
        core.write_register("CYCLES", 1)
    with pytest.raises(KeyError, match="no register 'SAT_9'"):
        core.read_register("SAT_9")
