"""The spec's Poisson (Bernoulli) input generator: xorshift32, reproducible in hardware.

The generator is re-seeded at the start of every image and stepped once per input element
(pixel channel) in row-major (h, w, c) order, timestep after timestep. Element ``i`` spikes
at step ``t`` when its uint8 value is greater than the top byte of the state produced by
that step, so a pixel of value p spikes with probability p / 256.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

MASK32 = 0xFFFFFFFF


def xorshift32(state: int) -> int:
    """One step of Marsaglia's xorshift32 (shifts 13, 17, 5): a linear feedback generator."""
    state ^= (state << 13) & MASK32
    state ^= state >> 17
    state ^= (state << 5) & MASK32
    return state


@lru_cache(maxsize=8)
def random_bytes(seed: int, timesteps: int, elements: int) -> np.ndarray:
    """(timesteps, elements) uint8: the top byte of every generator state, in stream order."""
    if not 1 <= seed <= MASK32:
        raise ValueError(f"seed {seed} must be in 1 .. 2**32 - 1")
    out = np.empty(timesteps * elements, dtype=np.uint8)
    state = seed
    for k in range(out.size):
        state = xorshift32(state)
        out[k] = state >> 24
    out.setflags(write=False)
    return out.reshape(timesteps, elements)


def poisson_spikes(images: np.ndarray, seed: int, step: int, timesteps: int) -> np.ndarray:
    """Input spikes (0/1, same shape as ``images``) of every image at timestep ``step``."""
    n = images.shape[0]
    flat = images.reshape(n, -1)
    draws = random_bytes(seed, timesteps, flat.shape[1])[step]
    return (flat > draws).reshape(images.shape)
