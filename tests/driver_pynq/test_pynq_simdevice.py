"""The simulated device at register level: the core's contract (handshake, malformed
streams, bad TIMESTEPS), the AXI DMA's status and errors, non-coherent memory. Driven
through pynq's own MMIO, allocate and DMA driver, as the accelerator drives it."""

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
from spikeforge.verify import golden

pytestmark = pytest.mark.pynq


class Rig:
    """A simulated overlay with the core and DMA drivers, and one buffer per direction."""

    def __init__(self, seed: int = 5) -> None:
        self.net = random_network(seed)
        self.device = SimulatedDevice(self.net)
        overlay = SimulatedOverlay(self.device)
        self.core, self.dma = overlay.snn_core, overlay.axi_dma
        self.core.attach(self.net)
        self.k = self.net.num_classes
        self.beats = contract.beats_per_image(self.net.input_shape)
        self.src = pynq.allocate((64,), np.uint32, target=self.device)
        self.dst = pynq.allocate((64,), np.uint32, target=self.device)

    def start(self, timesteps: int, n: int) -> None:
        self.core.configure(timesteps, n)
        self.core.start()

    def send(self, words: np.ndarray) -> None:
        self.src[: len(words)] = words
        self.dma.sendchannel.transfer(self.src, nbytes=4 * len(words))

    def receive(self) -> np.ndarray:
        """One output packet (K + 1 words) through S2MM."""
        self.dma.recvchannel.transfer(self.dst, nbytes=4 * (self.k + 1))
        self.dma.recvchannel.wait()
        assert self.dma.recvchannel.transferred == 4 * (self.k + 1)
        return np.array(self.dst[: self.k + 1])

    def expected(self, image: np.ndarray, timesteps: int) -> np.ndarray:
        result = golden(self.net, image[None], timesteps)
        return contract.output_words(result.counts, result.classes)[0]


@pytest.fixture
def rig():
    return Rig()


def test_a_well_formed_run_and_the_handshake(rig):
    assert rig.core.control() == status.AP_IDLE
    images = random_images(1, rig.net, 2)
    rig.start(3, 2)
    assert not rig.core.control() & status.AP_IDLE
    for image in images:
        rig.send(contract.pack_images(image[None])[0])
        assert np.array_equal(rig.receive(), rig.expected(image, 3))
    ctrl = rig.core.control()
    assert ctrl & status.AP_DONE and ctrl & status.AP_IDLE
    assert not rig.core.control() & status.AP_DONE  # ap_done clears on read
    assert rig.core.status == 0 and rig.core.cycles == 0


def test_bad_timesteps_runs_nothing_and_flags_status(rig):
    rig.start(rig.net.config.max_timesteps + 1, 1)
    assert rig.core.control() & status.AP_DONE
    assert rig.core.status == contract.STATUS_BAD_TIMESTEPS
    rig.send(contract.pack_images(random_images(1, rig.net, 1))[0])
    assert rig.device.core.images_done == 0 and len(rig.device.out_r) == 0


def test_early_tlast_processes_the_image_zero_padded(rig):
    image = random_images(2, rig.net, 1)[0]
    words = contract.pack_images(image[None])[0]
    half = rig.beats // 2
    rig.start(4, 1)
    rig.send(words[:half])  # the DMA drives TLAST on the transfer's last beat
    padded = image.reshape(-1).copy()
    padded[4 * half :] = 0
    assert np.array_equal(rig.receive(), rig.expected(padded.reshape(image.shape), 4))
    assert rig.core.control() & status.AP_DONE
    assert rig.core.status == contract.STATUS_TLAST_EARLY


def test_missing_tlast_drops_beats_up_to_the_next_tlast(rig):
    first, second = random_images(3, rig.net, 2)
    words = contract.pack_images(np.stack([first, second]))
    rig.start(5, 2)
    rig.send(np.concatenate([words[0], [7, 7, 7]]))  # TLAST only on the 3rd junk beat
    assert np.array_equal(rig.receive(), rig.expected(first, 5))
    rig.send(words[1])
    assert np.array_equal(rig.receive(), rig.expected(second, 5))
    assert rig.core.control() & status.AP_DONE
    assert rig.core.status == contract.STATUS_TLAST_MISSING


def test_a_whole_batch_in_one_transfer_loses_all_but_the_first_image(rig):
    """Why the driver sends one transfer per image: the DMA drives TLAST only at the end."""
    images = random_images(4, rig.net, 3)
    rig.start(2, 3)
    rig.send(contract.pack_images(images).reshape(-1))
    assert np.array_equal(rig.receive(), rig.expected(images[0], 2))
    assert rig.dma.sendchannel.idle and rig.device.core.images_done == 1
    assert not rig.core.control() & status.AP_DONE  # waits for two more images
    assert rig.core.status == contract.STATUS_TLAST_MISSING


def test_memory_is_not_coherent(rig):
    data = np.arange(16, dtype=np.uint32)
    rig.src[:16] = data
    address = rig.src.physical_address
    assert rig.device.memory.read(address, 64) == bytes(64)
    rig.src[:16].flush()
    assert rig.device.memory.read(address, 64) == data.tobytes()
    rig.device.memory.write(rig.dst.physical_address, data[::-1].tobytes())
    assert not rig.dst[:16].any()
    rig.dst[:16].invalidate()
    assert np.array_equal(rig.dst[:16], data[::-1])


def test_dma_decode_error_halts_the_channel(rig):
    rig.dma.mmio.write(hwinfo.MM2S_SA, 0x0800_0000)  # below the simulated DDR
    rig.dma.mmio.write(hwinfo.MM2S_LENGTH, 16)
    dmasr = rig.dma.mmio.read(hwinfo.MM2S_DMASR)
    assert dmasr & hwinfo.DMASR_DEC_ERR and dmasr & hwinfo.DMASR_HALTED
    assert rig.dma.sendchannel.error and not rig.dma.sendchannel.running


def test_a_packet_longer_than_the_receive_transfer_is_an_internal_error(rig):
    rig.start(1, 1)
    rig.dma.recvchannel.transfer(rig.dst, nbytes=4)  # the core sends K + 1 words
    rig.send(contract.pack_images(random_images(5, rig.net, 1))[0])
    assert rig.dma.recvchannel.error and not rig.dma.recvchannel.running
    assert rig.dma.mmio.read(hwinfo.S2MM_DMASR) & hwinfo.DMASR_INT_ERR


def test_an_unmapped_address_is_a_bus_error(rig):
    mmio = pynq.MMIO(0x4000_0000, 0x100, device=rig.device)
    with pytest.raises(RuntimeError, match="0x40000000 decodes to no IP"):
        mmio.read(0)


def test_interrupt_status_toggles_on_write(rig):
    rig.core.write_register("IER", 1)
    rig.start(1, 1)
    rig.send(contract.pack_images(random_images(6, rig.net, 1))[0])
    rig.receive()
    assert rig.core.read_register("ISR") & 1
    rig.core.write_register("ISR", 1)
    assert not rig.core.read_register("ISR") & 1
