"""Per-step event statistics of a network on real images, from the golden model.

The HLS core is event-driven: its loop trip counts depend on which (position, channel
group) words each stage sends in each step. This module replays the golden model step by
step and counts, per image and step, the words every stage receives and the synapse or
gate iterations they cost, and the synaptic operations per neuron layer (docs/spec.md
section 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import NeuronLayer
from ..poisson import poisson_spikes
from ..simulator import SimResult, step_spikes
from .plan_types import GatePlan, NetworkPlan, NeuronPlan


def span_counts(size: int, kernel: int, stride: int, pad: int, out: int) -> np.ndarray:
    """Per input coordinate, how many output coordinates it feeds (window.h)."""
    a = np.arange(size) + pad
    hi = np.minimum(a // stride, out - 1)
    lo = np.where(a - kernel + 1 <= 0, 0, (a - kernel + stride) // stride)
    return np.maximum(hi - lo + 1, 0)


def word_cost(stage: NeuronPlan | GatePlan) -> np.ndarray:
    """(H_in, W_in) loop iterations one input word at each position costs: max(1, n)."""
    h, w, _ = stage.in_hwc
    if isinstance(stage, GatePlan):
        (ph, pw), (sh, sw), pads = stage.layer.pool, stage.layer.strides, stage.layer.pads
        ho, wo = stage.out_hwc[:2]
        n = np.outer(
            span_counts(h, ph, sh, pads[0], ho), span_counts(w, pw, sw, pads[2], wo)
        )
    else:
        (kh, kw), (sh, sw), pads = stage.kernel, stage.strides, stage.pads
        ho, wo = stage.out_hwc[:2]
        groups_fed = 1 if stage.depthwise else stage.groups_out
        n = np.outer(
            span_counts(h, kh, sh, pads[0], ho), span_counts(w, kw, sw, pads[2], wo)
        ) * groups_fed
    return np.maximum(n, 1)


def fan_out(stage: NeuronPlan) -> np.ndarray:
    """(H_in, W_in) synaptic operations of one input event (one channel) at each position
    (spec section 6: every (output neuron, weight) pair, zero weights of an average pool's
    other channels included, as the golden model counts them)."""
    h, w, _ = stage.in_hwc
    (kh, kw), (sh, sw), pads = stage.kernel, stage.strides, stage.pads
    ho, wo, cout = stage.out_hwc
    return np.outer(
        span_counts(h, kh, sh, pads[0], ho), span_counts(w, kw, sw, pads[2], wo)
    ) * cout


@dataclass
class StageEvents:
    """What one stage receives per image (N) and step (S: T, or 1 for analog input)."""

    words: np.ndarray  # (N, S) input words
    iterations: np.ndarray  # (N, S) synapse / gate-count iterations, end-of-step beats included
    synops: np.ndarray  # (N,) synaptic operations (neuron layers; 0 for gates)


@dataclass
class NetworkEvents:
    timesteps: int
    images: int
    stages: dict[int, StageEvents]
    golden: SimResult | None  # the golden model's result at T (None: synthetic events)


def _words(spikes: np.ndarray, group: int) -> np.ndarray:
    """(N, H, W, C) 0/1 -> (N, H, W, C / group) bool: which words are sent."""
    n, h, w, c = spikes.shape
    return spikes.reshape(n, h, w, c // group, group).any(axis=-1)


def _as_nhwc(x: np.ndarray, hwc: tuple[int, int, int]) -> np.ndarray:
    return x.reshape(len(x), *hwc)


def trace_events(plan: NetworkPlan, images: np.ndarray, timesteps: int) -> NetworkEvents:
    """Replay the golden model on ``images`` and count every stage's events per step."""
    net = plan.net
    runs, spikes = step_spikes(net, images, timesteps)
    n = len(images)
    analog = not plan.input.poisson
    # what the input stage sends, per step
    if analog:
        pixel_steps = [images.astype(np.int64)]
    else:
        pixel_steps = [
            poisson_spikes(images, net.config.seed, t, timesteps).astype(np.int64)
            for t in range(timesteps)
        ]
    events: dict[int, StageEvents] = {}
    prev_out: list[np.ndarray] = pixel_steps  # per step: the previous stage's output (N,H,W,C)
    prev_group = plan.input.group
    for stage, layer, outputs in zip(plan.stages, net.layers, spikes, strict=True):
        cost = word_cost(stage)
        words = np.zeros((n, len(prev_out)), dtype=np.int64)
        iters = np.zeros((n, len(prev_out)), dtype=np.int64)
        synops = np.zeros(n, dtype=np.int64)
        for t, x in enumerate(prev_out):
            x = _as_nhwc(x, stage.in_hwc)
            sent = _words(x != 0, prev_group)
            words[:, t] = sent.reshape(n, -1).sum(axis=1)
            iters[:, t] = (sent * cost[None, :, :, None]).reshape(n, -1).sum(axis=1) + 1
            if isinstance(stage, NeuronPlan):
                synops += ((x != 0) * fan_out(stage)[None, :, :, None]).reshape(n, -1).sum(axis=1)
        group = stage.lanes if isinstance(layer, NeuronLayer) else stage.group
        events[stage.stage] = StageEvents(words, iters, synops)
        prev_out, prev_group = outputs, group
    return NetworkEvents(timesteps, n, events, runs[timesteps])


def worst_case_events(plan: NetworkPlan, timesteps: int) -> NetworkEvents:
    """Every stage receives every word in every step (every pixel nonzero): the bound."""
    events: dict[int, StageEvents] = {}
    for stage in plan.stages:
        groups = stage.groups if isinstance(stage, GatePlan) else stage.groups_in
        steps = 1 if isinstance(stage, NeuronPlan) and stage.analog else timesteps
        h, w, c = stage.in_hwc
        words = np.full((1, steps), h * w * groups, dtype=np.int64)
        iters = np.full((1, steps), int(word_cost(stage).sum()) * groups + 1, dtype=np.int64)
        synops = np.zeros(1, dtype=np.int64)
        if isinstance(stage, NeuronPlan):
            synops[0] = steps * int(fan_out(stage).sum()) * c
        events[stage.stage] = StageEvents(words, iters, synops)
    return NetworkEvents(timesteps, 1, events, None)

