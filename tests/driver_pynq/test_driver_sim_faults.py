"""The simulated device's fault injection for the driver's error paths: a bad TIMESTEPS
refused late (after register reads), a MAX_TIMESTEPS register that disagrees with the
core's check, and freed DMA buffers. Driven through pynq's MMIO, allocate and DMA driver."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "pynq", reason="pynq is not installed here: `make test-pynq` runs these in .venv-pynq"
)

import numpy as np
import pynq

from netgen import random_images, random_network
from spikeforge import contract
from spikeforge.driver import hwinfo, status
from spikeforge.driver.sim import SimulatedDevice, SimulatedOverlay

pytestmark = pytest.mark.pynq


def _core(device: SimulatedDevice):
    core = SimulatedOverlay(device).snn_core
    core.attach(device.core.net)
    return core


def test_a_late_refusal_shows_after_the_given_reads():
    net = random_network(5)
    device = SimulatedDevice(net, refusal_reads=3)
    core = _core(device)
    core.configure(net.config.max_timesteps + 1, 1)
    core.start()
    ctrl = core.control()  # read 1: still deciding, busy, ap_start pending
    assert ctrl & status.AP_START and not ctrl & (status.AP_IDLE | status.AP_DONE)
    assert core.status == 0  # read 2: STATUS was cleared by ap_start
    assert core.status == contract.STATUS_BAD_TIMESTEPS  # read 3: refused
    ctrl = core.control()
    assert ctrl & status.AP_DONE and ctrl & status.AP_IDLE and not ctrl & status.AP_START
    assert device.core.runs == 1 and device.core.images_done == 0


def test_a_deciding_core_reads_no_input():
    net = random_network(5)
    device = SimulatedDevice(net, refusal_reads=2)
    overlay = SimulatedOverlay(device)
    core, dma = overlay.snn_core, overlay.axi_dma
    core.configure(0, 1)
    core.start()
    src = pynq.allocate((64,), np.uint32, target=device)
    words = contract.pack_images(random_images(1, net, 1))[0]
    src[: len(words)] = words
    dma.sendchannel.transfer(src, nbytes=4 * len(words))
    assert len(device.in_r) == len(words)  # all in the FIFO, none taken
    assert core.status == 0  # read 1 of the core (the DMA's registers do not count)
    assert core.status == contract.STATUS_BAD_TIMESTEPS  # read 2: refused
    assert len(device.in_r) == len(words) and device.core.images_done == 0


def test_max_timesteps_register_can_disagree_with_the_check():
    net = random_network(5)
    top = net.config.max_timesteps
    device = SimulatedDevice(net, max_timesteps_register=top + 3)
    core = _core(device)
    assert core.max_timesteps == top + 3
    core.configure(top + 1, 1)
    core.start()
    assert core.status == contract.STATUS_BAD_TIMESTEPS
    assert core.control() & status.AP_DONE


def test_a_freed_buffer_faults_the_dma_and_the_cache_operations():
    device = SimulatedDevice(random_network(5))
    dma = SimulatedOverlay(device).axi_dma
    buf = pynq.allocate((16,), np.uint32, target=device)
    address = buf.physical_address
    buf.freebuffer()
    buf.freebuffer()  # twice: counted once
    assert device.memory.frees == 1
    with pytest.raises(RuntimeError, match=r"flush of buffer 1 at 0x\w+ after freebuffer\(\)"):
        buf.flush()
    with pytest.raises(RuntimeError, match="invalidate of buffer 1"):
        buf.invalidate()
    dma.mmio.write(hwinfo.MM2S_DMACR, hwinfo.DMACR_RS)
    dma.mmio.write(hwinfo.MM2S_SA, address)
    dma.mmio.write(hwinfo.MM2S_LENGTH, 16)
    assert dma.mmio.read(hwinfo.MM2S_DMASR) & hwinfo.DMASR_DEC_ERR
