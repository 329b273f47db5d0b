"""cocotb testbench for a core with the spikeforge hardware contract (docs/hardware-contract.md).

:class:`CoreBench` drives the ports as a PYNQ host would, through cocotbext-axi: an
AXI4-Lite master on ``s_axi_control``, an AXI4-Stream source on ``in_r`` (optionally with
random TVALID gaps) and a sink on ``out_r`` (optionally with random TREADY backpressure),
which is also the monitor: every received frame is one image's result. The same bench
serves the RTL core and any other implementation of the contract.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from spikeforge import contract

CTRL_START, CTRL_DONE, CTRL_IDLE = contract.AP_START, contract.AP_DONE, contract.AP_IDLE


class BenchError(AssertionError):
    """The core did not respond as the contract says (timeout, wrong framing)."""


@dataclass
class RunResult:
    """What one ap_start returned."""

    words: np.ndarray  # (N, K + 1) out_r words, one row per image
    cycles: int
    status: int
    saturation: list[int] = field(default_factory=list)  # SAT_i after the run

    @property
    def counts(self) -> np.ndarray:
        return self.words[:, :-1].astype(np.int64)

    @property
    def classes(self) -> np.ndarray:
        return self.words[:, -1].astype(np.int64)


def _pauses(probability: float, seed: int) -> Iterator[int]:
    """An endless random pause pattern: 1 (pause) with the given probability."""
    rng = np.random.default_rng(seed)
    return (int(rng.random() < probability) for _ in itertools.count())


class CoreBench:
    """Clock, reset, AXI drivers and the host-side register protocol."""

    def __init__(self, dut, registers: dict[str, int], num_classes: int, period_ns: int = 10):
        self.dut = dut
        self.registers = registers
        self.num_classes = num_classes
        self.period_ns = period_ns
        Clock(dut.ap_clk, period_ns, unit="ns").start()
        clk, rst = dut.ap_clk, dut.ap_rst_n
        self.source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "in_r"), clk, rst, reset_active_level=False
        )
        self.sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "out_r"), clk, rst, reset_active_level=False
        )
        self.axil = AxiLiteMaster(
            AxiLiteBus.from_prefix(dut, "s_axi_control"), clk, rst, reset_active_level=False
        )

    # --- reset and traffic shaping -------------------------------------------------------

    async def reset(self, cycles: int = 4) -> None:
        self.dut.ap_rst_n.value = 0
        await ClockCycles(self.dut.ap_clk, cycles)
        self.dut.ap_rst_n.value = 1
        await ClockCycles(self.dut.ap_clk, 2)

    def shape_traffic(self, gaps: float, backpressure: float, seed: int = 1) -> None:
        """Random TVALID gaps on in_r and TREADY backpressure on out_r (0 = none)."""
        for port, probability, offset in ((self.source, gaps, 0), (self.sink, backpressure, 1)):
            if probability > 0:
                port.set_pause_generator(_pauses(probability, seed + offset))
            else:
                port.clear_pause_generator()
                port.pause = False  # clearing the generator keeps its last value

    # --- registers ---------------------------------------------------------------------

    async def read(self, name: str) -> int:
        data = await self.axil.read(self.registers[name], 4)
        return int.from_bytes(data.data, "little")

    async def write(self, name: str, value: int) -> None:
        await self.axil.write(self.registers[name], int(value).to_bytes(4, "little"))

    async def start(self, timesteps: int, n_images: int) -> None:
        await self.write("TIMESTEPS", timesteps)
        await self.write("N_IMAGES", n_images)
        await self.write("CTRL", CTRL_START)

    async def wait_done(self, timeout_us: float) -> None:
        """Poll CTRL until ap_done (which clears on that read)."""

        async def poll() -> None:
            while not (await self.read("CTRL")) & CTRL_DONE:
                await ClockCycles(self.dut.ap_clk, 16)

        await self._bounded(poll(), timeout_us, "ap_done")

    async def _bounded(self, awaitable, timeout_us: float, what: str):
        try:
            return await with_timeout(awaitable, timeout_us, "us")
        except TimeoutError as err:
            raise BenchError(f"no {what} within {timeout_us:.0f} us of simulated time") from err

    # --- streams -----------------------------------------------------------------------

    def send_frame(self, words: np.ndarray) -> None:
        """Queue 32-bit in_r words as one frame: TLAST on the last of them."""
        self.source.send_nowait(AxiStreamFrame(np.asarray(words, dtype="<u4").tobytes()))

    async def receive(self, n_images: int, timeout_us: float) -> np.ndarray:
        """The next ``n_images`` result frames as (N, K + 1) words."""
        rows = []
        for _ in range(n_images):
            frame = await self._bounded(self.sink.recv(), timeout_us, "out_r frame")
            words = np.frombuffer(bytes(frame.tdata), dtype="<u4")
            if len(words) != self.num_classes + 1:
                raise BenchError(
                    f"an out_r frame has {len(words)} words, the contract says "
                    f"{self.num_classes + 1} (K counts and the class, TLAST on the class)"
                )
            rows.append(words)
        return np.array(rows, dtype=np.uint32).reshape(-1, self.num_classes + 1)

    async def run(
        self, packed: np.ndarray, timesteps: int, timeout_us: float, stages: int
    ) -> RunResult:
        """One ap_start over the images ``packed`` as (N, beats) in_r words."""
        await self.start(timesteps, len(packed))
        for row in packed:
            self.send_frame(row)
        words = await self.receive(len(packed), timeout_us)
        await self.wait_done(timeout_us)
        return await self.figures(words, stages)

    async def figures(self, words: np.ndarray, stages: int) -> RunResult:
        cycles, status = await self.read("CYCLES"), await self.read("STATUS")
        saturation = [await self.read(f"SAT_{i}") for i in range(stages)]
        return RunResult(words, cycles, status, saturation)
