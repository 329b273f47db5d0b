"""cocotb tests of sf_axil_slave (the AXI4-Lite front end of s_axi_control) on its own.

ADDR_BITS comes from $SF_ADDR_BITS (``spikeforge.rtl.runner.run_unit_bench``). Behind the
register port sits a Python register model: 2**ADDR_BITS bytes of random content that
presents the word at reg_rd_addr on reg_rd_data and stores a write's bytes per
reg_wr_strb, and logs every read and write strobe with its cycle. cocotbext-axi's
AxiLiteMaster drives the bus (random writes and byte strobes then read-back, back-to-back
transactions, reads and writes at once under random AW/W/AR gaps and B/R backpressure);
a last test drives the bus by hand (any wstrb, random BREADY/RREADY) and compares every
ready, valid and data output with a cycle-level reference of the slave, the timing
sf_control had before the split.
"""

from __future__ import annotations

import itertools
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp

ADDR_BITS = int(os.environ["SF_ADDR_BITS"])
SIZE = 1 << ADDR_BITS  # bytes behind the port
WORDS = SIZE // 4
OKAY = int(AxiResp.OKAY)


class RegisterModel:
    """The register block behind the port, evaluated at every falling edge (the master
    drives its signals just after rising edges, so they have settled by then): it puts the
    word at reg_rd_addr on reg_rd_data, then applies a write strobe. The write lands in
    the memory half a cycle before the rising edge that performs it, after the read value
    was presented, so a read and a write of one word at the same edge read the old value,
    as registers would."""

    def __init__(self, dut, rng: random.Random) -> None:
        self.dut = dut
        self.mem = bytearray(rng.getrandbits(8) for _ in range(SIZE))
        self.writes: list[tuple[int, int, int, int]] = []  # (cycle, addr, data, strb)
        self.reads: list[tuple[int, int, int]] = []  # (cycle, addr, value)
        self.cycle = 0

    def word(self, addr: int) -> int:
        base = addr & ~3
        return int.from_bytes(self.mem[base : base + 4], "little")

    async def run(self) -> None:
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            self.cycle += 1
            rd_addr = int(dut.reg_rd_addr.value)
            value = self.word(rd_addr)
            dut.reg_rd_data.value = value
            if dut.rst.value:
                continue
            if dut.reg_rd_en.value:
                self.reads.append((self.cycle, rd_addr, value))
            if dut.reg_wr_en.value:
                addr = int(dut.reg_wr_addr.value)
                data = int(dut.reg_wr_data.value)
                strb = int(dut.reg_wr_strb.value)
                self.writes.append((self.cycle, addr, data, strb))
                base = addr & ~3
                for b in range(4):
                    if strb >> b & 1:
                        self.mem[base + b] = data >> (8 * b) & 0xFF


async def start(dut, seed: int) -> RegisterModel:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    model = RegisterModel(dut, random.Random(seed))
    dut.reg_rd_data.value = 0
    dut.rst.value = 1
    cocotb.start_soon(model.run())
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    return model


def master(dut) -> AxiLiteMaster:
    return AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)


def beats(addr: int, length: int) -> list[tuple[int, int]]:
    """(word address, byte strobe) of each beat of a transfer of ``length`` bytes."""
    out = []
    for base in range(addr & ~3, addr + length, 4):
        strb = sum(1 << b for b in range(4) if addr <= base + b < addr + length)
        out.append((base, strb))
    return out


def random_transfer(rng: random.Random) -> tuple[int, int]:
    """A random (address, length) of 1 .. 8 bytes within the address space."""
    length = rng.randint(1, min(8, SIZE))
    return rng.randrange(SIZE - length + 1), length


def expect_writes(model: RegisterModel, issued: list[tuple[int, bytes]]) -> None:
    """The write strobes are the beats of the issued writes, in order, each once."""
    want = []
    for addr, data in issued:
        for base, strb in beats(addr, len(data)):
            word = 0
            for b in range(4):
                if strb >> b & 1:
                    word |= data[base + b - addr] << (8 * b)
            want.append((base, word, strb))
    got = [(addr & ~3, data & mask(strb), strb) for _, addr, data, strb in model.writes]
    assert got == want, "write strobes differ from the issued writes"


def mask(strb: int) -> int:
    return sum(0xFF << (8 * b) for b in range(4) if strb >> b & 1)


def pauses(rng: random.Random, p: float):
    """A pause generator: paused with probability p each cycle."""
    while True:
        yield rng.random() < p


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def random_writes_read_back(dut):
    """Random writes with random (contiguous) byte strobes, one at a time, then every
    word and some random byte ranges read back."""
    rng = random.Random(ADDR_BITS)
    model = await start(dut, ADDR_BITS)
    axil = master(dut)
    expected = bytearray(model.mem)
    issued = []
    for _ in range(200):
        addr, length = random_transfer(rng)
        data = bytes(rng.getrandbits(8) for _ in range(length))
        resp = await axil.write(addr, data)
        assert resp.resp == AxiResp.OKAY
        expected[addr : addr + length] = data
        issued.append((addr, data))
    expect_writes(model, issued)
    assert model.mem == expected
    touched = {base >> 2 for a, d in issued for base, _ in beats(a, len(d))}
    words = range(WORDS) if WORDS <= 64 else sorted(touched)
    for w in words:
        resp = await axil.read(4 * w, 4)
        assert resp.resp == AxiResp.OKAY
        assert resp.data == bytes(expected[4 * w : 4 * w + 4]), f"word {w}"
    for _ in range(50):
        addr, length = random_transfer(rng)
        resp = await axil.read(addr, length)
        assert resp.data == bytes(expected[addr : addr + length])


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def back_to_back_every_other_cycle(dut):
    """Transactions queued all at once, B and R always ready: a write (and a read) every
    other cycle, one response at a time, every strobe exactly once."""
    rng = random.Random(ADDR_BITS + 1)
    model = await start(dut, ADDR_BITS + 1)
    axil = master(dut)
    n = 40
    issued = []
    events = []
    for _ in range(n):
        addr = 4 * rng.randrange(WORDS)
        data = rng.getrandbits(32).to_bytes(4, "little")
        issued.append((addr, data))
        events.append(axil.init_write(addr, data))
    for ev in events:
        await ev.wait()
        assert ev.data.resp == AxiResp.OKAY
    expect_writes(model, issued)
    cycles = [c for c, *_ in model.writes]
    gaps = {b - a for a, b in itertools.pairwise(cycles)}
    assert gaps == {2}, f"back-to-back writes {sorted(gaps)} cycles apart, want 2"

    addrs = [4 * rng.randrange(WORDS) for _ in range(n)]
    want = [model.word(a) for a in addrs]
    events = [axil.init_read(a, 4) for a in addrs]
    got = []
    for ev in events:
        await ev.wait()
        assert ev.data.resp == AxiResp.OKAY
        got.append(int.from_bytes(ev.data.data, "little"))
    assert got == want
    cycles = [c for c, *_ in model.reads]
    assert [a for _, a, _ in model.reads] == addrs
    gaps = {b - a for a, b in itertools.pairwise(cycles)}
    assert gaps == {2}, f"back-to-back reads {sorted(gaps)} cycles apart, want 2"


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def reads_and_writes_at_once_with_backpressure(dut):
    """Random reads and writes issued concurrently, with random gaps on AW, W and AR and
    random backpressure on B and R: each read returns the value the register block
    presented at its strobe (the reads and writes meet on the same few words), and every
    write lands once, in order."""
    model = await start(dut, ADDR_BITS + 2)
    axil = master(dut)
    requests = (axil.write_if.aw_channel, axil.write_if.w_channel, axil.read_if.ar_channel)
    responses = (axil.write_if.b_channel, axil.read_if.r_channel)
    hot = min(SIZE, 16)  # a few words, so reads and writes meet
    for p_req, p_resp in ((0.0, 0.5), (0.5, 0.0), (0.3, 0.7), (0.6, 0.3)):
        rng = random.Random(1000 * ADDR_BITS + int(10 * p_req) + int(100 * p_resp))
        for channel in requests:
            channel.set_pause_generator(pauses(rng, p_req))
        for channel in responses:
            channel.set_pause_generator(pauses(rng, p_resp))
        model.writes.clear()
        model.reads.clear()
        issued, reads = [], []
        for _ in range(120):
            if rng.random() < 0.5:
                length = rng.randint(1, min(8, hot))
                addr = rng.randrange(hot - length + 1)
                data = bytes(rng.getrandbits(8) for _ in range(length))
                issued.append((addr, data))
                axil.init_write(addr, data)
            else:
                reads.append(axil.init_read(4 * rng.randrange(hot // 4), 4))
            if rng.random() < 0.3:
                await ClockCycles(dut.clk, rng.randint(1, 3))
        await axil.wait()
        expect_writes(model, issued)
        assert all(ev.data.resp == AxiResp.OKAY for ev in reads)
        got = [int.from_bytes(ev.data.data, "little") for ev in reads]
        want = [value for *_, value in model.reads]
        assert got == want, "a read returned another value than at its strobe"
        for channel in (*requests, *responses):
            channel.clear_pause_generator()
            channel.pause = False
        for w in range(hot // 4):
            assert (await axil.read(4 * w, 4)).data == bytes(model.mem[4 * w : 4 * w + 4])


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def handshakes_cycle_by_cycle(dut):
    """The bus driven by hand (AW and W raised independently, any WSTRB, random BREADY
    and RREADY, valid held until accepted) and every output compared, every cycle, with
    the reference: AWREADY = WREADY = AWVALID and WVALID and not BVALID, ARREADY = ARVALID
    and not RVALID, BVALID/RVALID rise the cycle after and hold until BREADY/RREADY,
    RDATA is the value presented at the read strobe, BRESP = RRESP = OKAY."""
    rng = random.Random(ADDR_BITS + 7)
    model = await start(dut, ADDR_BITS + 7)
    for sig in ("awvalid", "wvalid", "arvalid", "bready", "rready"):
        getattr(dut, f"s_axil_{sig}").value = 0
    bvalid = rvalid = False
    rdata = None
    aw = w = ar = None  # the request each channel holds until accepted
    writes = reads = 0
    for _ in range(3000):
        # drive just after the rising edge
        if aw is None and rng.random() < 0.4:
            aw = rng.randrange(SIZE)
        if w is None and rng.random() < 0.4:
            w = (rng.getrandbits(32), rng.getrandbits(4))
        if ar is None and rng.random() < 0.5:
            ar = rng.randrange(SIZE)
        dut.s_axil_awvalid.value = aw is not None
        dut.s_axil_awaddr.value = aw if aw is not None else rng.randrange(SIZE)
        dut.s_axil_wvalid.value = w is not None
        dut.s_axil_wdata.value = w[0] if w is not None else rng.getrandbits(32)
        dut.s_axil_wstrb.value = w[1] if w is not None else rng.getrandbits(4)
        dut.s_axil_arvalid.value = ar is not None
        dut.s_axil_araddr.value = ar if ar is not None else rng.randrange(SIZE)
        bready = rng.random() < 0.5
        rready = rng.random() < 0.5
        dut.s_axil_bready.value = bready
        dut.s_axil_rready.value = rready
        await FallingEdge(dut.clk)
        await ReadOnly()  # the register model has run at this edge
        wr = aw is not None and w is not None and not bvalid
        rd = ar is not None and not rvalid
        assert bool(dut.s_axil_bvalid.value) == bvalid
        assert bool(dut.s_axil_rvalid.value) == rvalid
        if rvalid:
            assert int(dut.s_axil_rdata.value) == rdata
        assert bool(dut.s_axil_awready.value) == wr
        assert bool(dut.s_axil_wready.value) == wr
        assert bool(dut.s_axil_arready.value) == rd
        assert bool(dut.reg_wr_en.value) == wr
        assert bool(dut.reg_rd_en.value) == rd
        assert int(dut.s_axil_bresp.value) == OKAY
        assert int(dut.s_axil_rresp.value) == OKAY
        if wr:
            assert model.writes[-1] == (model.cycle, aw, w[0], w[1])
            assert int(dut.reg_wr_addr.value) == aw
            aw = w = None
            writes += 1
        if rd:
            assert int(dut.reg_rd_addr.value) == ar
            assert model.reads[-1][:2] == (model.cycle, ar)
            rdata = model.reads[-1][2]
            ar = None
            reads += 1
        # the rising edge
        bvalid = wr or (bvalid and not bready)
        rvalid = rd or (rvalid and not rready)
        await RisingEdge(dut.clk)
    assert writes > 300 and reads > 300, f"only {writes} writes and {reads} reads"
