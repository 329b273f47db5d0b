"""The high-level driver: classify images on the spikeforge core through AXI DMA.

``SpikeforgeAccelerator`` finds the core (by its VLNV) and the AXI DMA in an overlay,
checks that the core was built from the given network (BUILD_ID), allocates the DMA
buffers once, and streams batches: per ``ap_start`` it writes TIMESTEPS and N_IMAGES,
then sends each image in its own MM2S transfer (the DMA drives TLAST at the end of a
transfer, and the core wants TLAST on every image's last beat) and receives each image's
K + 1 output words in its own S2MM transfer (the core's TLAST ends it). The next image's
send is queued while the current one computes.

A core refuses a run whose TIMESTEPS is outside 1 .. MAX_TIMESTEPS (STATUS bit 2, ap_done
at once, nothing read): the driver reads STATUS right after ap_start, before it programs
the DMA, and again while it waits, so a refusal is a ``CoreStatusError`` naming T, not a
DMA timeout.

The same code runs on a board (``pynq.Overlay``) and against the simulated device
(``SimulatedOverlay``): the overlay object is the only seam.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import contract
from ..ir import Network
from ..netfile import build_id
from ..simulator import check_images
from . import hwinfo, status
from .bundle import Bundle
from .errors import (
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
    require_pynq,
)


@dataclass
class RunStats:
    """Figures of the last :meth:`SpikeforgeAccelerator.classify` call."""

    images: int
    timesteps: int
    seconds: float  # host wall-clock, packing and unpacking included
    starts: int  # ap_start handshakes (one per batch)
    cycles: int  # sum of the CYCLES register over the batches (0: not modelled)
    clock_mhz: float | None
    saturation: np.ndarray  # membrane clamp events per neuron layer, all images

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")

    @property
    def core_seconds(self) -> float | None:
        """Time the core reports (CYCLES / clock), where it counts cycles."""
        if not self.cycles or not self.clock_mhz:
            return None
        return self.cycles / (self.clock_mhz * 1e6)


def _find_ip(overlay, vlnv_prefix: str, driver_type: type, what: str):
    ip_dict = overlay.ip_dict
    names = [name for name, desc in ip_dict.items() if desc.get("type", "").startswith(vlnv_prefix)]
    if len(names) != 1:
        found = ", ".join(f"{n} ({d.get('type')})" for n, d in ip_dict.items()) or "none"
        problem = "no IP" if not names else f"{len(names)} IPs"
        raise OverlayError(
            f"the overlay has {problem} of type {vlnv_prefix} ({what}); its IP: {found}. Build "
            "the overlay with `make overlay` (hw/overlay) from the exported spikeforge core"
        )
    driver = overlay
    for part in names[0].split("/"):
        driver = getattr(driver, part)
    if not isinstance(driver, driver_type):
        raise OverlayError(
            f"{names[0]} is bound to {type(driver).__name__}, not {driver_type.__name__}: import "
            "spikeforge.driver.ip before creating the Overlay (SpikeforgeAccelerator.load does)"
        )
    return driver


def _data_width_bytes(dma) -> int:
    params = dma.description["parameters"]
    widths = [int(params[k]) for k in ("c_m_axi_mm2s_data_width", "c_m_axi_s2mm_data_width")]
    return max(widths) // 8


class SpikeforgeAccelerator:
    """Classify images on the core of a loaded overlay (board or simulated)."""

    def __init__(
        self, overlay, net: Network, *, batch_size: int = 256, timeout: float = 10.0
    ) -> None:
        pynq = require_pynq()
        from pynq.lib.dma import DMA

        from .ip import SpikeforgeCore

        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1")
        self.overlay, self.net, self.timeout = overlay, net, timeout
        self.core = _find_ip(overlay, hwinfo.CORE_VLNV, SpikeforgeCore, "the spikeforge core")
        self.dma = _find_ip(overlay, hwinfo.DMA_VLNV.rpartition(":")[0], DMA, "the AXI DMA")
        if self.dma.sendchannel is None or self.dma.recvchannel is None:
            raise OverlayError("the AXI DMA needs both MM2S (send) and S2MM (receive) channels")
        self.core.attach(net)
        core_id, net_id = self.core.build_id, build_id(net)
        if core_id != net_id:
            raise BuildIdMismatchError(
                f"the bitstream's core has BUILD_ID 0x{core_id:08X} but the network "
                f"'{net.name}' has build id 0x{net_id:08X}: the bitstream was built from "
                "another network. Load the snn.json/npz the bitstream was built from, or "
                "rebuild the bitstream (make hls, make overlay) for this network"
            )
        self.max_timesteps = self.core.max_timesteps
        self.num_classes = net.num_classes
        word = contract.STREAM_BITS // 8
        self._in_bytes = contract.beats_per_image(net.input_shape, net.input_format.bits) * word
        self._out_bytes = (self.num_classes + 1) * word
        align = _data_width_bytes(self.dma)
        largest = max(self._in_bytes, self._out_bytes)
        if largest > self.dma.buffer_max_size:
            raise OverlayError(
                f"one image needs a {largest}-byte DMA transfer, the DMA allows "
                f"{self.dma.buffer_max_size}; rebuild the overlay with a larger c_sg_length_width"
            )
        in_words = -(-self._in_bytes // align) * align // word
        out_words = -(-self._out_bytes // align) * align // word
        device = self.core.device
        self.batch_size = batch_size
        self._in = pynq.allocate((batch_size, in_words), dtype=np.uint32, target=device)
        self._out = pynq.allocate((batch_size, out_words), dtype=np.uint32, target=device)
        self._closed = False
        self._timesteps = self._check_timesteps(net.config.timesteps)
        self._broken: str | None = None
        self._ap_done = False  # ap_done seen by a CTRL read (reading clears it)
        self.last_run: RunStats | None = None

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def load(cls, bitfile: str | Path, net: Network, *, download: bool = True, **kwargs):
        """Program ``bitfile`` (its .hwh beside it) with ``pynq.Overlay`` and open the core."""
        pynq = require_pynq()
        from . import ip  # noqa: F401  (binds SpikeforgeCore to the core's VLNV)

        bitfile = Path(bitfile)
        for path in (bitfile, bitfile.with_suffix(".hwh")):
            if not path.is_file():
                raise DriverError(f"{path} is missing; `make overlay` builds the .bit and .hwh")
        return cls(pynq.Overlay(str(bitfile), download=download), net, **kwargs)

    @classmethod
    def simulated(
        cls,
        net: Network,
        *,
        board: str = hwinfo.DEFAULT_BOARD,
        core_build_id: int | None = None,
        stall: bool = False,
        **kwargs,
    ):
        """The same driver on the simulated device (golden model behind the registers)."""
        from .sim import SimulatedDevice, SimulatedOverlay

        device = SimulatedDevice(net, board, core_build_id=core_build_id, stall=stall)
        return cls(SimulatedOverlay(device), net, **kwargs)

    @classmethod
    def from_bundle(cls, bundle: Bundle, target: str, **kwargs):
        """Open a ``spikeforge package`` bundle on the ``board`` or the ``simulated`` device."""
        if target == "board":
            if bundle.bitstream is None:
                raise DriverError(
                    f"{bundle.path} has no bitstream (packaged with --no-bitstream): build the "
                    "overlay with `make overlay` and package again, or use target='simulated'"
                )
            return cls.load(bundle.bitstream, bundle.network(), **kwargs)
        if target == "simulated":
            return cls.simulated(bundle.network(), board=bundle.board, **kwargs)
        raise ValueError(f"target must be 'board' or 'simulated', not {target!r}")

    @staticmethod
    def choose_target(bundle: Bundle, requested: str = "auto") -> tuple[str, str]:
        """Resolve ``auto``: the board where there is one and a bitstream, else the
        simulated device. Returns the target and why, for the user to see."""
        if requested in ("board", "simulated"):
            return requested, "requested"
        if requested != "auto":
            raise ValueError(f"target must be 'auto', 'board' or 'simulated', not {requested!r}")
        pynq = require_pynq()
        if not pynq.ps.ON_TARGET:
            return "simulated", "no PYNQ board here"
        if bundle.bitstream is None:
            return "simulated", "the bundle has no bitstream"
        return "board", "a PYNQ board and the bundle's bitstream"

    # --- run-time parameters ------------------------------------------------------------

    @property
    def timesteps(self) -> int:
        """T for the next runs (default: the network's)."""
        self._require_open()
        return self._timesteps

    @timesteps.setter
    def timesteps(self, value: int) -> None:
        self._require_open()
        self._timesteps = self._check_timesteps(value)

    def _check_timesteps(self, value) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TimestepsError(f"timesteps must be an integer, not {value!r}")
        if not 1 <= value <= self.max_timesteps:
            raise TimestepsError(
                f"timesteps={value} is outside 1 .. {self.max_timesteps}, the core's "
                "MAX_TIMESTEPS; for longer runs convert with a larger --max-timesteps and "
                "rebuild the bitstream"
            )
        return int(value)

    @property
    def clock_mhz(self) -> float | None:
        """The PL clock (fclk0) the core runs on."""
        self._require_open()
        if hasattr(self.overlay, "clock_dict") and self.overlay.bitfile_name is None:
            return float(self.overlay.clock_dict[0]["frequency"])
        import pynq

        return float(pynq.Clocks.fclk0_mhz)

    # --- classification -----------------------------------------------------------------

    def classify(self, images: np.ndarray, timesteps: int | None = None):
        """Spike counts (N, K) and classes (N,) of any number of images, batch by batch."""
        self._require_open()
        images = check_images(images, self.net)
        steps = self._timesteps if timesteps is None else self._check_timesteps(timesteps)
        n, k = len(images), self.num_classes
        counts, classes = np.zeros((n, k), dtype=np.int64), np.zeros(n, dtype=np.int64)
        saturation = np.zeros(len(self.net.neuron_layers), dtype=np.int64)
        cycles = starts = 0
        start = time.perf_counter()
        for lo in range(0, n, self.batch_size):
            hi = min(lo + self.batch_size, n)
            counts[lo:hi], classes[lo:hi], batch_sat, batch_cycles = self._run(images[lo:hi], steps)
            saturation += batch_sat
            cycles += batch_cycles
            starts += 1
        seconds = time.perf_counter() - start
        self.last_run = RunStats(n, steps, seconds, starts, cycles, self.clock_mhz, saturation)
        return counts, classes

    def classify_batch(self, images: np.ndarray, timesteps: int | None = None):
        """One ``ap_start`` for all ``images``; they must fit the DMA buffers."""
        self._require_open()
        images = check_images(images, self.net)
        if len(images) > self.batch_size:
            raise BatchTooLargeError(
                f"{len(images)} images do not fit the DMA buffers, allocated for "
                f"{self.batch_size}; use classify() (it streams any number in batches) or "
                f"open the accelerator with batch_size={len(images)}"
            )
        return self.classify(images, timesteps)

    def _run(self, images: np.ndarray, steps: int):
        """One ap_start over ``images`` (at most batch_size)."""
        if self._broken:
            raise AcceleratorStateError(
                f"an earlier run failed ({self._broken}); the core and DMA need a reset: "
                "load the overlay again"
            )
        n, k = len(images), self.num_classes
        bits = self.net.input_format.bits
        in_words = contract.beats_per_image(self.net.input_shape, bits)
        out_words = k + 1
        self._in[:n, :in_words] = contract.pack_images(images, bits)
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        self.core.configure(steps, n)
        self._ap_done = False
        self.core.start()
        refused = self._refused()
        if refused:  # nothing was sent: the core and the DMA are ready for the next run
            raise CoreStatusError(
                self._refusal(refused, steps, "Nothing was sent; the accelerator stays usable")
            )
        recv.transfer(self._out[0], nbytes=self._out_bytes)
        send.transfer(self._in[0], nbytes=self._in_bytes)
        for i in range(n):
            self._wait(send, f"sending image {i + 1} of {n}", steps)
            if i + 1 < n:
                send.transfer(self._in[i + 1], nbytes=self._in_bytes)
            self._wait(recv, f"receiving the output of image {i + 1} of {n}", steps)
            if recv.transferred != self._out_bytes:
                self._fail(
                    DmaError,
                    f"the core sent {recv.transferred} bytes for image {i + 1} of {n}, expected "
                    f"{self._out_bytes} ({k} counts + class); {self._registers()}",
                )
            if i + 1 < n:
                recv.transfer(self._out[i + 1], nbytes=self._out_bytes)
        self._wait_done(n)
        core_status = self.core.status
        if core_status:
            self._fail(
                CoreStatusError,
                f"the core flagged STATUS={status.describe_core_status(core_status)} on a run "
                "the driver streamed well-formed: the bitstream's stream packing differs from "
                "contract.pack_images",
            )
        words = np.array(self._out[:n, :out_words])
        counts, classes = contract.unpack_outputs(words, k)
        return counts, classes, self.core.saturation(), self.core.cycles

    # --- waiting, with diagnostics ------------------------------------------------------

    def _registers(self) -> str:
        from .hwinfo import MM2S_DMASR, S2MM_DMASR

        mm2s = status.describe_dmasr(self.dma.mmio.read(MM2S_DMASR))
        s2mm = status.describe_dmasr(self.dma.mmio.read(S2MM_DMASR))
        return f"MM2S_DMASR={mm2s}, S2MM_DMASR={s2mm}; core: {self.core.describe()}"

    def _fail(self, error: type[DriverError], message: str):
        self._broken = message
        raise error(message)

    def _control(self) -> int:
        """Read CTRL, remembering ap_done for :meth:`_wait_done` (the read clears it)."""
        ctrl = self.core.control()
        self._ap_done |= bool(ctrl & status.AP_DONE)
        return ctrl

    def _refused(self) -> int:
        """STATUS if the core refused the run just started (TIMESTEPS out of range), else 0.

        The flag counts only once the run is over (ap_start taken, the core idle or done):
        until it takes ap_start a core shows the previous run's STATUS (the RTL for a
        cycle, an HLS core, which writes STATUS when a run ends, for the whole run).
        """
        if not self.core.status & contract.STATUS_BAD_TIMESTEPS:
            return 0
        ctrl = self._control()
        if ctrl & status.AP_START or not ctrl & (status.AP_IDLE | status.AP_DONE):
            return 0
        flags = self.core.status
        return flags if flags & contract.STATUS_BAD_TIMESTEPS else 0

    def _refusal(self, flags: int, steps: int, state: str) -> str:
        """What a bad-TIMESTEPS refusal means, what to do about it, the driver's ``state``
        and the core's registers."""
        top = self.core.max_timesteps
        message = (
            f"the core refused the run: STATUS={status.describe_core_status(flags)} for "
            f"TIMESTEPS={steps}; "
        )
        if 1 <= steps <= top:
            message += (
                f"its MAX_TIMESTEPS register reads {top}, so the core's range check disagrees "
                "with its own register: the bitstream is inconsistent. Rebuild it (make hls or "
                "the RTL core, then make overlay); until then use a smaller T"
            )
        else:
            expected = self.max_timesteps
            told = "" if top == expected else f" (the driver expected {expected})"
            message += (
                f"the core accepts 1 .. {top}, its MAX_TIMESTEPS{told}. Use timesteps between 1 "
                f"and {top} (acc.timesteps = T or classify(images, timesteps=T)); for longer "
                "runs convert with a larger --max-timesteps and rebuild the bitstream"
            )
        return f"{message}. {state}. Core: {self.core.describe()}"

    def _wait(self, channel, what: str, steps: int) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if channel.error:
                self._fail(
                    DmaError,
                    f"DMA error while {what}: {self._registers()}. An error halts the DMA: "
                    "reload the overlay",
                )
            if channel.idle:
                channel.wait()  # invalidates the receive buffer, reads the length
                return
            refused = self._refused()  # refused after the DMA was programmed
            if refused:
                self._fail(
                    CoreStatusError,
                    self._refusal(
                        refused,
                        steps,
                        "The refusal showed after the driver had programmed the DMA, which "
                        "now holds image data no run will read: reload the overlay",
                    ),
                )
            if time.monotonic() > deadline:
                self._fail(
                    DmaTimeoutError,
                    f"DMA timed out after {self.timeout} s while {what}: {self._registers()}. "
                    "The core stopped taking or giving stream data; reload the overlay",
                )

    def _wait_done(self, n: int) -> None:
        deadline = time.monotonic() + self.timeout
        while not (self._ap_done or self._control() & status.AP_DONE):
            if time.monotonic() > deadline:
                self._fail(
                    DmaTimeoutError,
                    f"the core did not raise ap_done within {self.timeout} s after all {n} "
                    f"outputs arrived: {self._registers()}",
                )

    # --- reporting ----------------------------------------------------------------------

    def describe(self) -> str:
        """One line: the network, the target, T and the buffers."""
        self._require_open()
        target = "simulated device" if self.overlay.bitfile_name is None else "board"
        return (
            f"{self.net.name} on the {target}: core BUILD_ID 0x{self.core.build_id:08X}, "
            f"T={self.timesteps} (max {self.max_timesteps}), {self.num_classes} classes, "
            f"DMA buffers for {self.batch_size} images"
        )

    def _require_open(self) -> None:
        if self._closed:
            raise AcceleratorClosedError(
                "the accelerator is closed; create a new one (SpikeforgeAccelerator.load, "
                ".simulated or .from_bundle): close() freed its DMA buffers"
            )

    def close(self) -> None:
        """Free the DMA buffers; every method then refuses. Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        for buf in (self._in, self._out):
            buf.freebuffer()

    def __enter__(self):
        self._require_open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
