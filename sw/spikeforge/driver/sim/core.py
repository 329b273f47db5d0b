"""The spikeforge core as the driver sees it (docs/hardware-contract.md), computing with the
golden model: the register file, the ap_ctrl_hs handshake and the stream behaviour,
including the malformed-stream rules.

Timing is not modelled: CYCLES reads 0. The core holds one image in flight: it reads the
next image only after the previous image's K + 1 output beats have left through ``out_r``
(so a driver must keep a receive transfer programmed, as on the hardware).

A TIMESTEPS outside 1 .. MAX_TIMESTEPS is refused at ap_start (STATUS bit 2, ap_done, no
stream traffic), as the RTL's sequencer and the HLS top do. Fault injection for the driver's
error paths: ``stall`` (a hung core), ``refusal_reads`` (the refusal shows only after that
many register reads: the hardware takes a few cycles to decide, which a read can beat) and
``max_timesteps_register`` (MAX_TIMESTEPS reads another value than the range the core
checks: an inconsistent bitstream).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ... import contract
from ...ir import Network
from ...netfile import build_id
from ...simulator import simulate
from .. import status as st
from .memory import AxisFifo

_OFFSETS = {reg.offset: reg.name for reg in [*contract.CONTROL_REGISTERS, *contract.CORE_REGISTERS]}


class SimulatedCore:
    """Register and stream model of one core built from ``net``."""

    def __init__(
        self,
        net: Network,
        core_build_id: int | None = None,
        stall: bool = False,
        *,
        refusal_reads: int = 0,
        max_timesteps_register: int | None = None,
    ) -> None:
        self.net = net
        self.stall = stall  # fault injection: never read the input stream (a hung core)
        self.refusal_reads = refusal_reads  # fault injection: a bad TIMESTEPS flagged late
        self.max_timesteps_register = (
            net.config.max_timesteps if max_timesteps_register is None else max_timesteps_register
        )
        self.deciding = 0  # register reads left before a pending refusal shows
        self.build_id = build_id(net) if core_build_id is None else core_build_id
        self.beats = contract.beats_per_image(net.input_shape, net.input_format.bits)
        self.layers = len(net.neuron_layers)
        self.regs = {"TIMESTEPS": 0, "N_IMAGES": 0, "GIE": 0, "IER": 0, "ISR": 0, "STATUS": 0}
        self.saturation = np.zeros(self.layers, dtype=np.int64)
        self.running = False
        self.start_pending = False
        self.auto_restart = False
        self.done = self.ready = False
        self.images_done = 0
        self.image_beats: list[int] = []
        self.dropping = False  # after a missing TLAST: drop beats up to the next TLAST
        self.pending: deque[tuple[int, bool]] = deque()
        self.runs = 0  # ap_start handshakes taken (tests count them)

    # --- registers ------------------------------------------------------------------

    def read(self, offset: int) -> int:
        if self.deciding:  # a register read takes time: the refusal may land now
            self.deciding -= 1
            if not self.deciding:
                self._refuse()
        if offset >= contract.SAT_BASE:
            index = (offset - contract.SAT_BASE) // contract.REGISTER_STRIDE
            in_map = index < self.layers and offset % contract.REGISTER_STRIDE == 0
            return int(min(self.saturation[index], 2**32 - 1)) if in_map else 0
        name = _OFFSETS.get(offset)
        if name == "CTRL":
            value = (
                (st.AP_START if self.start_pending or self.deciding else 0)
                | (st.AP_DONE if self.done else 0)
                | (st.AP_IDLE if not self.running else 0)
                | (st.AP_READY if self.ready else 0)
                | (st.AUTO_RESTART if self.auto_restart else 0)
            )
            self.done = self.ready = False  # clear on read
            return value
        if name == "BUILD_ID":
            return self.build_id
        if name == "MAX_TIMESTEPS":
            return self.max_timesteps_register
        if name == "CYCLES":
            return 0
        return self.regs.get(name, 0) if name else 0

    def write(self, offset: int, value: int) -> None:
        name = _OFFSETS.get(offset)
        if name == "CTRL":
            self.auto_restart = bool(value & st.AUTO_RESTART)
            if value & st.AP_START:
                self.start_pending = True
                if not self.running:
                    self._start()
        elif name == "ISR":
            self.regs["ISR"] ^= value & 0x3  # toggle on write
        elif name in ("TIMESTEPS", "N_IMAGES", "GIE", "IER"):
            self.regs[name] = value

    def _start(self) -> None:
        self.start_pending = False
        self.runs += 1
        self.regs["STATUS"] = 0
        self.saturation[:] = 0
        self.images_done = 0
        self.image_beats = []
        self.running = True
        if not 1 <= self.regs["TIMESTEPS"] <= self.net.config.max_timesteps:
            self.deciding = self.refusal_reads
            if not self.deciding:
                self._refuse()

    def _refuse(self) -> None:
        """TIMESTEPS out of range: nothing is read or sent, ap_done at once."""
        self.regs["STATUS"] = contract.STATUS_BAD_TIMESTEPS
        self._finish()

    def _finish(self) -> None:
        self.running = False
        self.done = self.ready = True
        if self.regs["IER"] & 1:
            self.regs["ISR"] |= 1
        if self.start_pending or self.auto_restart:
            self._start()

    # --- streams --------------------------------------------------------------------

    def step(self, in_r: AxisFifo, out_r: AxisFifo) -> bool:
        """Consume input, compute, emit output as far as the FIFOs allow; True on progress."""
        progress = False
        while self.pending and not out_r.full:
            out_r.push(*self.pending.popleft())
            progress = True
        while self.dropping and len(in_r):  # drains even between runs, as the RTL does
            self.dropping = not in_r.pop()[1]
            progress = True
        if not self.running or self.pending or self.stall or self.deciding:
            return progress
        while len(in_r) and not self.dropping and self.images_done < self.regs["N_IMAGES"]:
            word, last = in_r.pop()
            progress = True
            self.image_beats.append(word)
            if last and len(self.image_beats) < self.beats:
                self.regs["STATUS"] |= contract.STATUS_TLAST_EARLY
            elif len(self.image_beats) == self.beats and not last:
                self.regs["STATUS"] |= contract.STATUS_TLAST_MISSING
                self.dropping = True
            elif not last:
                continue
            self._process(self.image_beats)
            self.image_beats = []
            break
        if self.images_done >= self.regs["N_IMAGES"] and not self.pending:
            self._finish()
            progress = True
        return progress

    def _process(self, words: list[int]) -> None:
        """Run one image through the golden model and queue its K + 1 output beats."""
        raw = np.zeros((1, self.beats), dtype=np.uint32)
        raw[0, : len(words)] = words
        fmt = self.net.input_format
        values = contract.unpack_images(raw, self.net.input_shape, fmt.bits, fmt.signed)
        image = values.astype(fmt.dtype)
        result = simulate(self.net, image, self.regs["TIMESTEPS"], workers=1)
        self.saturation += result.saturation.sum(axis=0)
        words_out = contract.output_words(result.counts, result.classes)[0]
        for i, word in enumerate(words_out):
            self.pending.append((int(word), i == len(words_out) - 1))
        self.images_done += 1
