"""cocotb tests of sf_accumulator_bank (one synapse bank's tagged current sets) on its own.

CO, CB, DEPTH and NSET come from $SF_CO, $SF_CB, $SF_DEPTH and $SF_NSET
(``spikeforge.rtl.runner.run_unit_bench``). The bench plays the two sides of the bank as
sf_synapse and sf_stage do: an array that sends updates (the word's address and set one
cycle, the increment the next) and an end-of-unit token per unit, moving to the other set
(with two) and taking a set only once it is freed; and a neuron unit that reads a set once
its unit has landed, in passes, the last of which reads every word with nu_last, and then
frees it. Every read is compared with a Python model of the currents (a word holds the sum
of its unit's increments modulo 2**CB and reads valid, or it is stale: invalid, zero), the
landed flags every cycle. The traffic goes for the hazards on purpose: updates of the same
word back to back (the forward) and two apart, the same word in the other set right after
a token, updates while the neuron unit reads the other set, a free in the cycle after the
last read (its tag write and the epoch flip on one edge) with the next unit's first update
in the free's own cycle, empty units, tokens with and without an update beside them, and
a reset in the middle of a unit. The bank's assertions check the protocol the bench keeps.
"""

from __future__ import annotations

import os
import random
from collections import Counter

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

CO = int(os.environ["SF_CO"])
CB = int(os.environ["SF_CB"])
DEPTH = int(os.environ["SF_DEPTH"])
NSET = int(os.environ["SF_NSET"])
MASK = (1 << CB) - 1
WORD = CO * CB


class Model:
    """The currents of every set: a word's CO sums since its set's last free, and whether
    the unit touched it (else it reads stale: invalid, i.e. zero)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.sums = [[[0] * CO for _ in range(DEPTH)] for _ in range(NSET)]
        self.touched = [[False] * DEPTH for _ in range(NSET)]

    def update(self, st: int, addr: int, incr: list[int]) -> None:
        word = self.sums[st][addr]
        for co in range(CO):
            word[co] = (word[co] + incr[co]) & MASK
        self.touched[st][addr] = True

    def free(self, st: int) -> None:
        self.sums[st] = [[0] * CO for _ in range(DEPTH)]
        self.touched[st] = [False] * DEPTH


class Bench:
    """Drives one cycle at a time (``cycle``) and checks the outputs due in it."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.model = Model()
        self.now = 0
        self.incr_next: list[int] | None = None  # the increment of last cycle's update
        self.reads_due: dict[int, tuple[int, int, bool, list[int]]] = {}
        self.landed_due: dict[int, list[tuple[int, bool]]] = {}
        self.landed = [False, False]
        self.stats: Counter = Counter()
        self.last_updates: list[tuple[int, int, int] | None] = [None, None]  # c-1, c-2
        self.rng = random.Random(1000 * DEPTH + 100 * CO + 10 * NSET + CB)

    def random_incr(self) -> list[int]:
        # full-range words (wrap-around) and small ones (sums that stay readable)
        if self.rng.random() < 0.5:
            return [self.rng.randrange(1 << CB) for _ in range(CO)]
        return [self.rng.randrange(-3, 4) & MASK for _ in range(CO)]

    async def cycle(
        self,
        update: tuple[int, int] | None = None,  # (set, address) of an update entering (P)
        mark: int | None = None,  # the set of an end-of-unit token entering (P)
        read: tuple[int, int, bool] | None = None,  # (set, address, last) of a neuron read
        idle_read: int | None = None,  # nu_en high on this set without a read (between tiles)
        free: int | None = None,
        clear: int | None = None,  # the clear pass's address
        rst: bool = False,
    ) -> None:
        dut, rng = self.dut, self.rng
        incr = self.random_incr() if update is not None else None
        dut.rst.value = int(rst)
        dut.update_valid.value = int(update is not None)
        if update is not None and mark is not None:
            assert update[0] == mark, "a token rides with an update of its own set"
        # the set and address lines carry garbage when nothing is offered on them
        dut.update_set.value = update[0] if update is not None else rng.randrange(NSET)
        dut.update_addr.value = update[1] if update is not None else rng.randrange(DEPTH)
        dut.token_valid.value = int(mark is not None)
        dut.token_set.value = mark if mark is not None else rng.randrange(NSET)
        # the increment of last cycle's update (garbage otherwise: the bank must ignore it)
        drive_incr = self.incr_next or [rng.randrange(1 << CB) for _ in range(CO)]
        dut.update_incr.value = sum(v << (co * CB) for co, v in enumerate(drive_incr))
        dut.nu_en.value = int(read is not None or idle_read is not None)
        nu_set = read[0] if read is not None else idle_read
        dut.nu_set.value = nu_set if nu_set is not None else rng.randrange(NSET)
        dut.nu_addr.value = read[1] if read is not None else rng.randrange(DEPTH)
        dut.nu_last.value = int(read is not None and read[2])
        dut.free.value = int(free is not None)
        dut.free_set.value = free if free is not None else rng.randrange(NSET)
        dut.clr_en.value = int(clear is not None)
        dut.clr_addr.value = clear if clear is not None else rng.randrange(DEPTH)
        await ReadOnly()
        if not rst:
            self.check()
        await RisingEdge(dut.clk)
        self.after(update, incr, mark, read, free, rst)

    def check(self) -> None:
        dut, now = self.dut, self.now
        for st, value in self.landed_due.pop(now, []):
            self.landed[st] = value
        got_landed = int(dut.landed.value)
        want_landed = self.landed[0] | (self.landed[1] << 1)
        assert got_landed == want_landed, (
            f"cycle {now}: landed {got_landed:02b}, want {want_landed:02b}"
        )
        if now in self.reads_due:
            st, addr, touched, sums = self.reads_due.pop(now)
            valid = (int(dut.nu_rvalid.value) >> st) & 1
            word = (int(dut.nu_rdata.value) >> (st * WORD)) & ((1 << WORD) - 1)
            got = [(word >> (co * CB)) & MASK for co in range(CO)]
            where = f"cycle {now}: set {st} word {addr}"
            assert valid == touched, f"{where}: rvalid {valid}, the model says {int(touched)}"
            if touched:
                assert got == sums, f"{where}: read {got}, the model holds {sums}"
            self.stats["reads checked"] += 1

    def after(self, update, incr, mark, read, free, rst) -> None:
        """Book-keeping of the cycle just clocked (self.now)."""
        now = self.now
        if rst:
            self.model.clear()
            self.reads_due.clear()
            self.landed_due.clear()
            self.landed = [False, False]
            self.incr_next = None
            self.last_updates = [None, None]
            self.now += 1
            return
        if free is not None:  # first: the next unit's first update may come in this cycle
            self.model.free(free)
            self.landed_due.setdefault(now + 1, []).append((free, False))
        if update is not None:
            st, addr = update
            self.model.update(st, addr, incr)
            before, before2 = self.last_updates
            if before is not None and before[1] == addr:
                self.stats[
                    "same word back to back"
                    if before[0] == st
                    else "same word, other set, back to back"
                ] += 1
            elif before2 is not None and before2[:2] == (st, addr):
                self.stats["same word two apart"] += 1
            if read is not None:
                self.stats["update while reading"] += 1
        self.last_updates = [(update[0], update[1], now) if update else None, self.last_updates[0]]
        self.incr_next = incr
        if mark is not None:
            self.landed_due.setdefault(now + 3, []).append((mark, True))
            if update is not None:
                self.stats["token beside an update"] += 1
        if read is not None:
            st, addr, _ = read
            self.reads_due[now + 2] = (
                st,
                addr,
                self.model.touched[st][addr],
                list(self.model.sums[st][addr]),
            )
        self.now += 1


async def start(dut) -> Bench:
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    bench = Bench(dut)
    for _ in range(3):
        await bench.cycle(rst=True)
    await clear_pass(bench)
    return bench


async def clear_pass(bench: Bench) -> None:
    for addr in range(DEPTH):
        await bench.cycle(clear=addr)


class Traffic:
    """The array and the neuron unit around one bank, at random, within the protocol."""

    def __init__(self, bench: Bench, p_update: float, unit_len: int) -> None:
        self.bench, self.rng = bench, bench.rng
        self.p_update, self.unit_len = p_update, unit_len  # may change between steps
        self.restart()

    def restart(self) -> None:
        """Both sides as after the clear pass (every set free)."""
        self.array_set = 0
        self.owned = [True] * NSET  # the array may accumulate the set
        self.tokened = [False] * NSET  # its token went in since the set's last free
        self.token_cycle = [0] * NSET  # when (its landed flag shows three cycles later)
        self.left = self.rng.randrange(self.unit_len + 1)  # updates before the token
        self.reader_set = 0
        self.plan: list[tuple | None] = []  # the reader's coming cycles: read, idle or gap
        self.free_at: int | None = None
        self.last_read_cycle = self.free_cycle = -10

    def pick_address(self, st: int, reading: tuple | None) -> int:
        bench, rng = self.bench, self.rng
        before, before2 = bench.last_updates
        roll = rng.random()
        if roll < 0.35 and before is not None:
            return before[1]  # the update ahead's word: the forward (or the other set's)
        if roll < 0.5 and before2 is not None:
            return before2[1]  # the word written the cycle before: it has landed
        if roll < 0.65 and reading is not None:
            return reading[1]  # the word the neuron unit reads in the other set
        return rng.randrange(DEPTH)

    def reader_passes(self) -> list[tuple | None]:
        """Some passes over the landed set, the last one reading every word (nu_last)."""
        rng, st = self.rng, self.reader_set
        plan: list[tuple | None] = []
        for p in range(rng.choice([1, 1, 2, 3])):
            last = p == 0
            words = list(range(DEPTH)) if last else rng.sample(range(DEPTH), rng.randint(1, DEPTH))
            rng.shuffle(words)
            items: list[tuple | None] = [("read", st, addr, last) for addr in words]
            for _ in range(rng.randrange(3)):  # nu_en high between tiles without a read
                items.insert(rng.randrange(len(items) + 1), ("idle", st))
            gap: list[tuple | None] = [None] * rng.randrange(3)  # passes are apart
            plan = gap + items + plan  # the last pass goes last
        return plan

    async def step(self) -> None:
        bench, rng = self.bench, self.rng
        read = idle = free = None
        # the neuron unit: reads, then a free (at the earliest the cycle after the last read)
        if self.plan:
            item = self.plan.pop(0)
            if item is not None and item[0] == "read":
                read = item[1:]
            elif item is not None:
                idle = item[1]
            if not self.plan:
                self.free_at = bench.now + 1 + rng.choice([0, 0, 0, 1, 2, 5])
        elif self.free_at is not None and bench.now >= self.free_at:
            free = self.reader_set
            if bench.now == self.last_read_cycle + 1:
                bench.stats["free right after the last read"] += 1
            self.free_at = None
            self.owned[free] = True
            self.tokened[free] = False
            self.free_cycle = bench.now
            self.reader_set = (free + 1) % NSET
        elif (
            self.free_at is None
            and self.tokened[self.reader_set]
            and bench.now > self.token_cycle[self.reader_set] + 3
        ):
            # the flag the bench saw last cycle is this token's (not the unit's before)
            assert bench.landed[self.reader_set], "the token has not landed"
            self.plan = self.reader_passes()
        if read is not None and read[2]:
            self.last_read_cycle = bench.now
        # the array: updates of its set, then the token; the next set once it is freed
        update = mark = None
        st = self.array_set
        if self.owned[st] and rng.random() < self.p_update:
            if self.left > 0:
                update = (st, self.pick_address(st, read))
                self.left -= 1
            if self.left == 0 and (update is None or rng.random() < 0.5):
                mark = st
        if update is not None and self.free_cycle == bench.now:
            bench.stats["update in the free's cycle"] += 1
        await bench.cycle(update=update, mark=mark, read=read, idle_read=idle, free=free)
        if mark is not None:
            self.owned[st] = False
            self.tokened[st] = True
            self.token_cycle[st] = bench.now - 1
            self.array_set = (st + 1) % NSET
            self.left = rng.randrange(self.unit_len + 1)


@cocotb.test()
async def random_traffic_matches_the_model(dut):
    bench = await start(dut)
    traffic = Traffic(bench, 1.0, 1)
    for p_update, unit_len in ((1.0, 3 * DEPTH + 4), (0.7, 2 * DEPTH), (1.0, 1)):
        traffic.p_update, traffic.unit_len = p_update, unit_len
        for _ in range(1500 + 60 * DEPTH):
            await traffic.step()
    stats = bench.stats
    wanted = [
        "reads checked",
        "same word back to back",
        "same word two apart",
        "token beside an update",
        "free right after the last read",
        "update in the free's cycle",
    ]
    if NSET > 1:
        wanted += ["same word, other set, back to back", "update while reading"]
    missing = [name for name in wanted if stats[name] == 0]
    assert not missing, f"the traffic never made {missing}: {dict(stats)}"
    dut._log.info("hazards: %s", dict(stats))


@cocotb.test()
async def same_word_every_cycle(dut):
    """Long runs of updates of one word (each reads the word the update ahead is still
    writing), then alternating words, in every set; every sum read back."""
    bench = await start(dut)
    for st in range(NSET):
        for _ in range(12):
            await bench.cycle(update=(st, DEPTH - 1))
        for i in range(12):
            await bench.cycle(update=(st, (i % 2) * (DEPTH - 1)))
        await bench.cycle(update=(st, 0), mark=st)
        if NSET > 1 and st == 0:
            await bench.cycle(update=(1, 0))  # the same word of the other set, right behind
    for _ in range(3):
        await bench.cycle()
    for st in range(NSET):
        assert bench.landed[st], f"set {st} has not landed"
        for addr in range(DEPTH):
            await bench.cycle(read=(st, addr, True))
        await bench.cycle()
        await bench.cycle(free=st)
    for _ in range(3):
        await bench.cycle()
    assert bench.stats["same word back to back"] >= 11 * NSET


@cocotb.test()
async def reset_in_the_middle_of_a_unit(dut):
    """A reset with updates in flight and a landed set, then the clear pass: every word of
    every set reads stale, and the bank accumulates afresh."""
    bench = await start(dut)
    traffic = Traffic(bench, 1.0, 2 * DEPTH)
    for _ in range(40 + 8 * DEPTH):
        await traffic.step()
    await bench.cycle(update=(traffic.array_set, 0), rst=True)
    await bench.cycle(rst=True)
    await clear_pass(bench)
    for st in range(NSET):
        await bench.cycle(mark=st)
    for _ in range(3):
        await bench.cycle()
    checked = bench.stats["reads checked"]
    for st in range(NSET):  # every word stale, every set's last pass
        for addr in range(DEPTH):
            await bench.cycle(read=(st, addr, True))
        await bench.cycle()
        await bench.cycle(free=st)
    await bench.cycle()
    assert bench.stats["reads checked"] == checked + NSET * DEPTH
    traffic.restart()
    for _ in range(400 + 20 * DEPTH):
        await traffic.step()
