"""Every error path of the driver gives its clear message."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "pynq", reason="pynq is not installed here: `make test-pynq` runs these in .venv-pynq"
)

import dataclasses

import numpy as np

from netgen import random_images, random_network
from spikeforge.driver import SpikeforgeAccelerator
from spikeforge.driver.errors import (
    AcceleratorStateError,
    BatchTooLargeError,
    BuildIdMismatchError,
    DmaError,
    DmaTimeoutError,
    DriverError,
    OverlayError,
    TimestepsError,
)
from spikeforge.driver.sim import SimulatedDevice, SimulatedOverlay
from spikeforge.netfile import build_id
from spikeforge.simulator import ImageError

pytestmark = pytest.mark.pynq


@pytest.fixture(scope="module")
def net():
    return random_network(5)


@pytest.fixture
def acc(net):
    return SpikeforgeAccelerator.simulated(net, batch_size=4)


def test_wrong_dtype_says_how_to_convert(acc, net):
    images = random_images(0, net, 2).astype(np.float32) / 255
    with pytest.raises(ImageError, match=r"uint8 pixels.*got dtype float32.*astype\(np.uint8\)"):
        acc.classify(images)


def test_wrong_shape_names_the_expected_shape(acc, net):
    images = random_images(0, net, 2)
    shape = ", ".join(map(str, net.input_shape))
    with pytest.raises(ImageError, match=rf"shape \(N, {shape}\).*images\[None\]"):
        acc.classify(images[0])
    with pytest.raises(ImageError, match="must have shape"):
        acc.classify(images[:, :-1])


def test_batch_larger_than_the_buffers(acc, net):
    images = random_images(0, net, 5)
    with pytest.raises(BatchTooLargeError, match=r"5 images do not fit the DMA buffers, "
                       r"allocated for 4; use classify\(\).*batch_size=5"):
        acc.classify_batch(images)
    counts, _ = acc.classify_batch(images[:4])
    assert counts.shape == (4, net.num_classes)


def test_timesteps_above_the_builds_maximum(acc, net):
    images = random_images(0, net, 1)
    top = net.config.max_timesteps
    with pytest.raises(TimestepsError, match=rf"timesteps={top + 1} is outside 1 \.\. {top}, "
                       "the core's MAX_TIMESTEPS.*--max-timesteps"):
        acc.classify(images, top + 1)
    with pytest.raises(TimestepsError, match="outside 1"):
        acc.timesteps = 0
    with pytest.raises(TimestepsError, match="must be an integer"):
        acc.classify(images, 2.5)
    acc.classify(images, top)  # the maximum itself runs


def test_bitstream_built_from_another_network(net):
    other = build_id(random_network(6))
    with pytest.raises(BuildIdMismatchError, match=rf"BUILD_ID 0x{other:08X} but the network "
                       rf"'{net.name}' has build id 0x{build_id(net):08X}.*rebuild the bitstream"):
        SpikeforgeAccelerator.simulated(net, core_build_id=other)


def test_dma_timeout_reports_the_status_registers(net):
    acc = SpikeforgeAccelerator.simulated(net, stall=True, timeout=0.2)
    images = random_images(0, net, 2)
    with pytest.raises(DmaTimeoutError) as caught:
        acc.classify(images)
    message = str(caught.value)
    # the DMA's FIFO took the whole first image; the hung core never answers
    assert "DMA timed out after 0.2 s while receiving the output of image 1 of 2" in message
    assert "MM2S_DMASR=0x00001000 (IOC_Irq)" in message
    assert "S2MM_DMASR=0x00000000 (running)" in message
    assert "CTRL=0x00000000 (busy)" in message and "STATUS=0x00000000 (no error)" in message
    assert "N_IMAGES=2" in message and "reload the overlay" in message
    with pytest.raises(AcceleratorStateError, match=r"an earlier run failed.*load the overlay"):
        acc.classify(images)


def test_overlay_without_the_core(net):
    overlay = SimulatedOverlay(SimulatedDevice(net))
    del overlay.ip_dict["snn_core"]
    with pytest.raises(OverlayError, match=r"no IP of type spikeforge.org:hls:snn_top:1.0.*"
                       r"axi_dma \(xilinx.com:ip:axi_dma:7.1\).*make overlay"):
        SpikeforgeAccelerator(overlay, net)


def test_core_bound_to_another_driver_is_refused(net):
    overlay = SimulatedOverlay(SimulatedDevice(net))
    overlay.snn_core = object()
    with pytest.raises(OverlayError, match=r"bound to object, not SpikeforgeCore.*import "
                       r"spikeforge.driver.ip"):
        SpikeforgeAccelerator(overlay, net)


def test_board_target_needs_a_bitstream(tmp_path, net):
    from spikeforge.driver.bundle import Bundle, write_bundle

    notebook = tmp_path / "nb.ipynb"
    notebook.write_text("{}")
    path = write_bundle(tmp_path / "b", net, notebook, board="pynq-z2", bitstream=None,
                        hwh=None, test_dir=None)
    bundle = Bundle.open(path)
    with pytest.raises(DriverError, match=r"has no bitstream.*make overlay.*target='simulated'"):
        SpikeforgeAccelerator.from_bundle(bundle, "board")
    assert SpikeforgeAccelerator.choose_target(bundle) == ("simulated", "no PYNQ board here")
    acc = SpikeforgeAccelerator.from_bundle(bundle, "simulated")
    assert acc.describe().startswith(f"{net.name} on the simulated device")


def _with_classes(net, classes: int):
    """``net`` with its output layer cut or widened to ``classes`` neurons."""
    last = net.layers[-1]
    pick = np.arange(classes) % last.channels
    layer = dataclasses.replace(
        last, out_shape=(classes,), weights=last.weights[:, pick], bias=last.bias[pick],
        threshold=last.threshold[pick])
    return dataclasses.replace(net, layers=[*net.layers[:-1], layer])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (1, r"DMA error while receiving the output of image 1 of 3: MM2S_DMASR=.*"
            r"S2MM_DMASR=0x0000\w{4} \(halted, DMAIntErr"),
        (-1, r"the core sent \d+ bytes for image 1 of 3, expected \d+ \(\d+ counts \+ class\)"),
    ],
)
def test_a_core_that_sends_the_wrong_output_length(net, extra, message):
    """A core whose output layer differs (same BUILD_ID forced): the driver says so."""
    core_net = _with_classes(net, net.num_classes + extra)
    device = SimulatedDevice(core_net, core_build_id=build_id(net))
    acc = SpikeforgeAccelerator(SimulatedOverlay(device), net, timeout=0.5)
    with pytest.raises(DmaError, match=message):
        acc.classify(random_images(0, net, 3))
