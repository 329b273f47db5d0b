"""Geometry tables of a stage, computed once here so the RTL needs no division or modulo.

Everything is per axis (rows and columns are independent):

* :func:`synapse_axis`: for an input coordinate ``y``, the targets each synapse bank
  updates, in order (the bank's ``g``-th target is in group ``g``): output coordinate,
  address and kernel index (each bank reads its weights from its own copy of the kernel at
  (channel, row, column)).
* :func:`tile_axis`: for a fire tile ``ty``, the output coordinate, bank and address of
  each tile member.
* :func:`gate_axis`: for a fire tile ``ty``, the gate windows it meets (one per window
  bank), whether this tile is the window's first visit in the scan, and where each tile
  member sits inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def bits(n: int) -> int:
    """Bits that index ``n`` values (at least 1); the RTL's ``sf_util::bits``."""
    return max(1, (int(n) - 1).bit_length())


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class SynapseAxis:
    size: int  # input length
    banks: int
    groups: int  # groups per input coordinate (the most any coordinate needs)
    addr_len: int  # bank depth along this axis: ceil(out / banks)
    valid: np.ndarray  # (size, groups, banks) bool
    addr: np.ndarray  # (size, groups, banks) output coordinate // banks
    coord: np.ndarray  # (size, groups, banks) output coordinate (-1 where invalid)
    kernel: np.ndarray  # (size, groups, banks) kernel index (-1 where invalid)
    kernel_len: int  # kernel extent along the axis

    @property
    def targets(self) -> np.ndarray:
        """(size, banks) how many targets each coordinate has in each bank: its groups
        0 .. n-1 (every group but a coordinate's last holds a target in every bank)."""
        return self.valid.sum(axis=1)


def synapse_axis(
    size: int, out: int, kernel: int, stride: int, pad: int, banks: int
) -> SynapseAxis:
    """Targets of an input coordinate: o with 0 <= i = y + pad - o*stride < kernel, 0 <= o < out.

    The targets of one coordinate are consecutive, so a chunk of ``banks`` of them has
    distinct residues ``o mod banks``: each bank receives at most one target per group, and
    a bank's targets take its first groups (only the last chunk can miss a bank).
    """
    targets = []
    for y in range(size):
        outs = [o for o in range(out) if 0 <= y + pad - o * stride < kernel]
        targets.append(outs)
    groups = max(1, max(ceil_div(len(t), banks) for t in targets))
    shape = (size, groups, banks)
    valid = np.zeros(shape, dtype=bool)
    addr = np.zeros(shape, dtype=np.int64)
    coord = np.full(shape, -1, dtype=np.int64)
    kern = np.full(shape, -1, dtype=np.int64)
    for y, outs in enumerate(targets):
        for g in range(ceil_div(len(outs), banks)):
            for o in outs[g * banks : (g + 1) * banks]:
                r = o % banks
                valid[y, g, r] = True
                addr[y, g, r] = o // banks
                coord[y, g, r] = o
                kern[y, g, r] = y + pad - o * stride
    return SynapseAxis(
        size, banks, groups, ceil_div(out, banks), valid, addr, coord, kern, kernel
    )


@dataclass
class TileAxis:
    tile: int
    origin: int  # the first tile starts at coordinate -origin
    tiles: int
    valid: np.ndarray  # (tiles, tile) bool
    coord: np.ndarray  # (tiles, tile) output coordinate
    bank: np.ndarray  # (tiles, tile) coord % banks
    addr: np.ndarray  # (tiles, tile) coord // banks


def tile_axis(out: int, tile: int, origin: int, banks: int) -> TileAxis:
    tiles = ceil_div(out + origin, tile)
    coord = np.arange(tiles)[:, None] * tile + np.arange(tile)[None, :] - origin
    valid = (coord >= 0) & (coord < out)
    safe = np.where(valid, coord, 0)
    return TileAxis(tile, origin, tiles, valid, safe, safe % banks, safe // banks)


@dataclass
class GateAxis:
    banks: int  # window banks: the most windows one tile meets along this axis
    addr_len: int  # ceil(gate out / banks)
    valid: np.ndarray  # (tiles, banks) bool: the tile meets a window in this bank
    first: np.ndarray  # (tiles, banks) bool: and it is that window's first tile
    coord: np.ndarray  # (tiles, banks) window (gate output) coordinate
    addr: np.ndarray  # (tiles, banks) coord // banks
    member_in: np.ndarray  # (tiles, banks, tile) bool: member inside the window
    member_w: np.ndarray  # (tiles, banks, tile) member offset inside the window


def gate_axis(tiles: TileAxis, pool: int, stride: int, pad: int, out: int) -> GateAxis:
    """Windows w cover producer coordinates [w*stride - pad, w*stride - pad + pool)."""
    meets: list[list[int]] = []
    for ty in range(tiles.tiles):
        r0 = ty * tiles.tile - tiles.origin
        r1 = r0 + tiles.tile - 1
        meets.append(
            [w for w in range(out) if w * stride - pad <= r1 and w * stride - pad + pool > r0]
        )
    banks = max(1, max(len(m) for m in meets))
    first_tile = {}
    for ty, windows in enumerate(meets):
        for w in windows:
            first_tile.setdefault(w, ty)
    shape = (tiles.tiles, banks)
    valid = np.zeros(shape, dtype=bool)
    first = np.zeros(shape, dtype=bool)
    coord = np.zeros(shape, dtype=np.int64)
    member_in = np.zeros((*shape, tiles.tile), dtype=bool)
    member_w = np.zeros((*shape, tiles.tile), dtype=np.int64)
    for ty, windows in enumerate(meets):
        for w in windows:
            b = w % banks
            valid[ty, b] = True
            first[ty, b] = first_tile[w] == ty
            coord[ty, b] = w
            offset = tiles.coord[ty] - (w * stride - pad)
            inside = tiles.valid[ty] & (offset >= 0) & (offset < pool)
            member_in[ty, b] = inside
            member_w[ty, b] = np.where(inside, offset, 0)
    return GateAxis(
        banks, ceil_div(out, banks), valid, first, coord, coord // banks, member_in, member_w
    )
