"""A slow functional model of the RTL core's algorithm, driven by the generated tables.

It processes events, fire tiles and gate windows exactly as ``hw/rtl`` does (each bank's
targets from the per-bank tables, per-bank kernel copies, bank addresses, tile scan order,
gate state with first-visit reset and per-step emission tags), so that the tables and the
algorithm can be checked against the golden model in plain Python, without Verilator.
"""

from __future__ import annotations

import numpy as np

from spikeforge.ir import Network
from spikeforge.poisson import poisson_spikes
from spikeforge.quant import initial_membrane
from spikeforge.rtl.hwdesc import StageHw
from spikeforge.rtl.plan import StagePlan, footprint
from spikeforge.rtl.stages import build_stages
from spikeforge.simulator import decide


class _StageModel:
    def __init__(self, hw: StageHw, net: Network) -> None:
        self.hw = hw
        st = hw.stage
        self.co = st.out_shape[2]
        py, px = hw.plan.banks
        self.cur = np.zeros((py, px, hw.rows.addr_len * hw.cols.addr_len, self.co), np.int64)
        ty, tx = hw.plan.tile
        tiles = hw.tile_rows.tiles * hw.tile_cols.tiles
        self.v = np.zeros((ty, tx, tiles, self.co), np.int64)
        self.n = np.zeros((ty, tx, tiles, self.co), np.int64)
        fmt = net.formats
        self.vmin, self.vmax = fmt.membrane_min, fmt.membrane_max
        self.theta = st.layer.threshold.astype(np.int64)
        self.bias = st.layer.bias.astype(np.int64)
        self.v_init = initial_membrane(st.layer, net.config).astype(np.int64)
        self.subtract = net.config.reset == "subtract"
        self.sat = 0
        if hw.gate_rows is not None:
            g = st.gate
            shape = (hw.gate_rows.banks, hw.gate_cols.banks)
            depth = hw.gate_rows.addr_len * hw.gate_cols.addr_len
            self.gm = np.zeros((*shape, depth, self.co), np.int64)
            self.gpos = np.zeros_like(self.gm)
            self.gtag = np.zeros_like(self.gm)
            self.pool_w = g.pool[1]
            self.running_max = net.config.pool == "running_max"

    def accumulate(self, event: tuple[int, int, int, int]) -> None:
        hw, st = self.hw, self.hw.stage
        y, x, c, value = event
        if st.dense:
            _, ws, cs = st.source_shape
            y, x, c = 0, 0, (y * ws + x) * cs + c
        rows, cols = hw.rows, hw.cols
        for ry in range(rows.banks):  # every bank on its own: its targets, row-major
            for rx in range(cols.banks):
                for gy in range(rows.targets[y, ry]):
                    for gx in range(cols.targets[x, rx]):
                        a = rows.addr[y, gy, ry] * cols.addr_len + cols.addr[x, gx, rx]
                        ky, kx = rows.kernel[y, gy, ry], cols.kernel[x, gx, rx]
                        word = hw.weight_words[hw.weight_address(c, ky, kx)]
                        self.cur[ry, rx, a] += word * value

    def fire(self, t: int, steps: int) -> list[tuple[int, int, int]]:
        """One pass over the tiles; returns the emitted events (y, x, c)."""
        hw, st = self.hw, self.hw.stage
        tr, tc = hw.tile_rows, hw.tile_cols
        clear = not st.analog or t == steps - 1
        events: list[tuple[int, int, int]] = []
        for ty in range(tr.tiles):
            for tx in range(tc.tiles):
                tile = ty * tc.tiles + tx
                spikes = np.zeros((tr.tile, tc.tile, self.co), bool)
                counts = np.zeros((tr.tile, tc.tile, self.co), np.int64)
                for dy in range(tr.tile):
                    for dx in range(tc.tile):
                        if not (tr.valid[ty, dy] and tc.valid[tx, dx]):
                            continue
                        a = tr.addr[ty, dy] * hw.cols.addr_len + tc.addr[tx, dx]
                        bank = (tr.bank[ty, dy], tc.bank[tx, dx])
                        current = self.cur[bank][a].copy()
                        if clear:
                            self.cur[bank][a] = 0
                        v_old = self.v_init if t == 0 else self.v[dy, dx, tile].copy()
                        n_old = 0 if t == 0 else self.n[dy, dx, tile].copy()
                        v = v_old + current + self.bias
                        clamped = (v > self.vmax) | (v < self.vmin)
                        self.sat += int(clamped.sum())
                        v = np.clip(v, self.vmin, self.vmax)
                        fired = v >= self.theta
                        if self.subtract:
                            v = np.where(fired, v - self.theta, v)
                        else:
                            v = np.where(fired, 0, v)
                        self.v[dy, dx, tile] = v
                        self.n[dy, dx, tile] = n_old + fired
                        spikes[dy, dx], counts[dy, dx] = fired, n_old + fired
                        if hw.gate_rows is None:
                            oy, ox = tr.coord[ty, dy], tc.coord[tx, dx]
                            events += [(oy, ox, c) for c in np.flatnonzero(fired)]
                if hw.gate_rows is not None:
                    events += self._gate(ty, tx, t, spikes, counts)
        return events

    def _gate(self, ty, tx, t, spikes, counts) -> list[tuple[int, int, int]]:
        gr, gc = self.hw.gate_rows, self.hw.gate_cols
        events = []
        for gy in range(gr.banks):
            for gx in range(gc.banks):
                if not (gr.valid[ty, gy] and gc.valid[tx, gx]):
                    continue
                a = gr.addr[ty, gy] * gc.addr_len + gc.addr[tx, gx]
                fresh = t == 0 and gr.first[ty, gy] and gc.first[tx, gx]
                for c in range(self.co):
                    m = 0 if fresh else self.gm[gy, gx, a, c]
                    pos = 0 if fresh else self.gpos[gy, gx, a, c]
                    tag = 0 if fresh else self.gtag[gy, gx, a, c]
                    best = None
                    for dy in range(gr.member_in.shape[2]):
                        for dx in range(gc.member_in.shape[2]):
                            inside = gr.member_in[ty, gy, dy] and gc.member_in[tx, gx, dx]
                            if not (inside and spikes[dy, dx, c]):
                                continue
                            key = (
                                counts[dy, dx, c],
                                -(gr.member_w[ty, gy, dy] * self.pool_w + gc.member_w[tx, gx, dx]),
                            )
                            if best is None or key > best:
                                best = key
                    tie = not self.running_max and best is not None and best[0] == m
                    if best is not None and (best[0] > m or (tie and -best[1] < pos)):
                        m, pos = best[0], -best[1]
                        if tag != t + 1:
                            events.append((gr.coord[ty, gy], gc.coord[tx, gx], c))
                        tag = t + 1
                    self.gm[gy, gx, a, c], self.gpos[gy, gx, a, c] = m, pos
                    self.gtag[gy, gx, a, c] = tag
        return events


def run_model(net: Network, stages: list[StageHw], images: np.ndarray, steps: int):
    """(counts (N, K), classes (N,), saturation per stage (L,)) as the core computes them."""
    models = [_StageModel(hw, net) for hw in stages]
    analog = net.config.input_mode == "analog"
    shape = stages[0].stage.source_shape  # the input elements in row-major order, in 3-D
    all_counts, all_v = [], []
    for image in images:
        for t in range(steps):
            if analog:
                events = []
                if t == 0:  # the nonzero elements (signed inputs: negative ones too)
                    image3 = image.reshape(shape)
                    nz = np.argwhere(image3 != 0)
                    events = [(y, x, c, int(image3[y, x, c])) for y, x, c in nz]
            else:
                s = poisson_spikes(image[None], net.config.seed, t, steps)[0].reshape(shape)
                events = [(y, x, c, 1) for y, x, c in np.argwhere(s)]
            for model in models:
                for event in events:
                    model.accumulate(event)
                fired = model.fire(t, steps)
                events = [(y, x, c, 1) for y, x, c in fired]
        last = models[-1]
        all_counts.append(last.n[0, 0, 0].copy())
        all_v.append(last.v[0, 0, 0].copy())
    counts, membrane = np.array(all_counts), np.array(all_v)
    classes = decide(counts, membrane, net.output.threshold)
    return counts, classes, np.array([m.sat for m in models])


def random_plan(net, seed: int) -> list[StagePlan]:
    """Any valid plan: partial footprints (several groups per event), multi-member tiles,
    more banks than needed, links of 2, 5 or 1,024 events (the banks' queues in front of a
    link absorb most stalls, so tests/test_rtl_link.py checks a full link on its own)."""
    rng = np.random.default_rng(seed)
    plan = []
    for stage in build_stages(net):
        link = int(rng.choice([2, 5, 1024]))
        if stage.dense:
            plan.append(StagePlan((1, 1), (1, 1), link_depth=link))
            continue
        ho, wo, _ = stage.out_shape
        ty, tx = int(rng.integers(1, min(3, ho) + 1)), int(rng.integers(1, min(3, wo) + 1))
        ny, nx = footprint(stage)
        py = int(rng.integers(ty, max(ty, ny) + 2))
        px = int(rng.integers(tx, max(tx, nx) + 2))
        plan.append(StagePlan((py, px), (ty, tx), double_buffer=bool(rng.integers(0, 2)),
                              link_depth=link))
    return plan
