"""Every error path of the driver gives its clear message."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "pynq", reason="pynq is not installed here: `make test-pynq` runs these in .venv-pynq"
)

import dataclasses
import time

import numpy as np

from netgen import random_images, random_network
from spikeforge.contract import STATUS_BAD_TIMESTEPS
from spikeforge.driver import SpikeforgeAccelerator
from spikeforge.driver.errors import (
    AcceleratorClosedError,
    AcceleratorStateError,
    BatchTooLargeError,
    BuildIdMismatchError,
    CoreStatusError,
    DmaError,
    DmaTimeoutError,
    DriverError,
    OverlayError,
    TimestepsError,
)
from spikeforge.driver.ip import SpikeforgeCore
from spikeforge.driver.sim import SimulatedDevice, SimulatedOverlay
from spikeforge.netfile import build_id
from spikeforge.simulator import ImageError
from spikeforge.verify import golden

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


# --- a run the core refuses (TIMESTEPS outside 1 .. MAX_TIMESTEPS, STATUS bit 2) ---------

REFUSED = "the core refused the run: STATUS=0x00000004 (TIMESTEPS out of range, nothing ran)"


def _opened(device: SimulatedDevice, net, monkeypatch=None) -> SpikeforgeAccelerator:
    """The accelerator on ``device``; with ``monkeypatch``, without the driver's own T check,
    so that a bad T reaches the core (whose refusal is what these tests are about)."""
    acc = SpikeforgeAccelerator(SimulatedOverlay(device), net, batch_size=4, timeout=5.0)
    if monkeypatch is not None:
        monkeypatch.setattr(acc, "_check_timesteps", int)
    return acc


def _equals_golden(acc, net, images, steps) -> None:
    counts, classes = acc.classify(images, steps)
    expected = golden(net, images, steps)
    assert np.array_equal(counts, expected.counts)
    assert np.array_equal(classes, expected.classes)


@pytest.mark.parametrize("where", ["zero", "above the maximum"])
def test_a_refused_timesteps_is_a_status_error_not_a_dma_timeout(net, monkeypatch, where):
    top = net.config.max_timesteps
    steps = 0 if where == "zero" else top + 1
    device = SimulatedDevice(net)
    acc = _opened(device, net, monkeypatch)
    images = random_images(0, net, 3)
    start = time.monotonic()
    with pytest.raises(CoreStatusError) as caught:
        acc.classify(images, steps)
    assert time.monotonic() - start < 2.0  # read from STATUS, not a 5 s DMA timeout
    message = str(caught.value)
    assert f"{REFUSED} for TIMESTEPS={steps}; the core accepts 1 .. {top}, its MAX_TIMESTEPS. " \
        f"Use timesteps between 1 and {top} (acc.timesteps = T or classify(images, " \
        "timesteps=T)); for longer runs convert with a larger --max-timesteps and rebuild " \
        "the bitstream. Nothing was sent; the accelerator stays usable. Core: " in message
    assert f"TIMESTEPS={steps}, N_IMAGES=3" in message and "expected" not in message
    assert not device.dma.mm2s.transfers and not device.dma.s2mm.transfers
    _equals_golden(acc, net, images, top)  # still usable


def test_a_refusal_names_what_the_driver_expected(net):
    """The driver's idea of the maximum differs from the core's register."""
    top = net.config.max_timesteps
    acc = _opened(SimulatedDevice(net), net)
    acc.max_timesteps = top + 5
    with pytest.raises(CoreStatusError, match=rf"TIMESTEPS={top + 1}; the core accepts 1 \.\. "
                       rf"{top}, its MAX_TIMESTEPS \(the driver expected {top + 5}\)\. Use "
                       rf"timesteps between 1 and {top}"):
        acc.classify(random_images(0, net, 1), top + 1)


def test_a_core_whose_check_disagrees_with_its_max_timesteps_register(net):
    top = net.config.max_timesteps
    acc = _opened(SimulatedDevice(net, max_timesteps_register=top + 3), net)
    assert acc.max_timesteps == top + 3  # the driver believes the register
    images = random_images(0, net, 2)
    with pytest.raises(CoreStatusError, match=rf"{REFUSED[:26]}.*TIMESTEPS={top + 1}; its "
                       rf"MAX_TIMESTEPS register reads {top + 3}, so the core's range check "
                       r"disagrees with its own register: the bitstream is inconsistent\. "
                       r"Rebuild it \(make hls or the RTL core, then make overlay\); until "
                       r"then use a smaller T\. Nothing was sent"):
        acc.classify(images, top + 1)
    _equals_golden(acc, net, images, top)


def test_a_refusal_that_shows_while_waiting(net, monkeypatch):
    """The first STATUS read beat the core's decision: the DMA was programmed already."""
    device = SimulatedDevice(net, refusal_reads=2)
    acc = _opened(device, net, monkeypatch)
    images = random_images(0, net, 2)
    start = time.monotonic()
    with pytest.raises(CoreStatusError) as caught:
        acc.classify(images, 0)
    assert time.monotonic() - start < 2.0
    message = str(caught.value)
    assert f"{REFUSED} for TIMESTEPS=0; the core accepts 1 .. " in message
    assert "The refusal showed after the driver had programmed the DMA, which now holds " \
        "image data no run will read: reload the overlay. Core: " in message
    assert device.dma.mm2s.transfers  # it had started sending
    with pytest.raises(AcceleratorStateError, match=r"an earlier run failed \(the core "
                       r"refused the run.*load the overlay again"):
        acc.classify(images, 1)


def test_a_stale_refusal_flag_does_not_stop_a_busy_run(net, monkeypatch):
    """An HLS core writes STATUS when a run ends: while a good run follows a refused one,
    STATUS still shows the refusal. The driver believes it only from an idle core."""
    device = SimulatedDevice(net)
    acc = _opened(device, net)
    real = SpikeforgeCore.status.fget

    def stale(core):
        value = real(core)
        return value | STATUS_BAD_TIMESTEPS if device.core.running else value

    monkeypatch.setattr(SpikeforgeCore, "status", property(stale))
    _equals_golden(acc, net, random_images(0, net, 6), 3)
    assert acc.last_run.starts == 2


# --- after close() ------------------------------------------------------------------------

CLOSED = (r"the accelerator is closed; create a new one \(SpikeforgeAccelerator\.load, "
          r"\.simulated or \.from_bundle\): close\(\) freed its DMA buffers")


def test_every_public_method_refuses_after_close(net):
    device = SimulatedDevice(net)
    acc = _opened(device, net)
    images = random_images(0, net, 2)
    acc.classify(images)
    sent = len(device.dma.mm2s.transfers)
    acc.close()
    assert device.memory.frees == 2  # both DMA buffers
    calls = {
        "classify": lambda: acc.classify(images),
        "classify_batch": lambda: acc.classify_batch(images),
        "describe": acc.describe,
        "timesteps": lambda: acc.timesteps,
        "timesteps =": lambda: setattr(acc, "timesteps", 2),
        "clock_mhz": lambda: acc.clock_mhz,
        "with": lambda: acc.__enter__(),
    }
    for name, call in calls.items():
        with pytest.raises(AcceleratorStateError, match=CLOSED) as caught:
            call()
        assert isinstance(caught.value, AcceleratorClosedError), name
    acc.close()  # a second close is harmless
    assert device.memory.frees == 2
    assert len(device.dma.mm2s.transfers) == sent  # the freed buffers were never used


def test_a_with_block_closes(net):
    device = SimulatedDevice(net)
    images = random_images(0, net, 2)
    with _opened(device, net) as acc:
        _equals_golden(acc, net, images, 3)
    assert device.memory.frees == 2
    with pytest.raises(AcceleratorClosedError, match=CLOSED):
        acc.classify(images)
    acc.close()
