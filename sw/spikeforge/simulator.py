"""Time-stepped simulation of a spiking network: the golden model and the float SNN.

One code path serves both. On an integer network (``net.formats`` set) every quantity is
an exact integer and membranes saturate to ``membrane_bits`` with each clamp counted: this
is the bit-exact specification of docs/spec.md. On a float network (thresholds 1.0) the
same structure runs without saturation, for measuring quantization loss.

Images are processed in batches, vectorized over the batch; within a timestep the layers
update in order, each seeing the spikes its predecessor emitted in the same timestep.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .errors import UserError
from .ir import Network, NeuronLayer, PoolGate
from .poisson import poisson_spikes
from .progress import progress_bar
from .quant import initial_membrane
from .tensor_ops import conv2d, conv_fan_out, dense, exact_float_dtype, pad_nhwc


class ImageError(UserError, ValueError):
    """Inputs of the wrong shape, dtype or range for a network."""


def check_images(images: np.ndarray, net: Network) -> np.ndarray:
    """Return ``images`` (N, *input_shape) of the network's input integers, or raise an
    error that says how to fix them."""
    if not isinstance(images, np.ndarray):
        raise ImageError(f"images must be a numpy array, not {type(images).__name__}")
    fmt = net.input_format
    if fmt.is_pixels and images.dtype != np.uint8:
        raise ImageError(
            f"images must be uint8 pixels (0..255), got dtype {images.dtype}; "
            "convert with np.clip(x, 0, 255).astype(np.uint8) (scale [0, 1] floats by 255 first)"
        )
    if images.dtype.kind not in "iu" or (
        images.size and (images.min() < fmt.low or images.max() > fmt.high)
    ):
        kind = f"{fmt.bits}-bit {'signed' if fmt.signed else 'unsigned'}"
        raise ImageError(
            f"inputs must be integers in {fmt.low}..{fmt.high} (the network's {kind} input), "
            f"got dtype {images.dtype}; encode real-valued data with net.input_format.encode(x)"
        )
    expected = tuple(net.input_shape)
    if images.shape[1:] != expected:
        hint = ""
        if images.shape[1:] == expected[:-1] and expected[-1] == 1:
            hint = "; add the channel axis with images[..., None]"
        elif images.shape == expected:
            hint = "; for a single image pass images[None]"
        raise ImageError(
            f"images must have shape (N, {', '.join(map(str, expected))}), got {images.shape}{hint}"
        )
    return images


def decide(counts: np.ndarray, membrane: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Class per image: most spikes, then highest membrane/threshold, then lowest index.

    Membranes are compared relative to their channel's threshold, exactly, by
    cross-multiplication: V_a * theta_b > V_b * theta_a.
    """
    wide = np.float64 if membrane.dtype.kind == "f" else np.int64
    counts = counts.astype(np.int64)
    membrane, threshold = membrane.astype(wide), threshold.astype(wide)
    best = np.zeros(len(counts), dtype=np.int64)
    rows = np.arange(len(counts))
    for c in range(1, counts.shape[1]):
        best_count, best_v = counts[rows, best], membrane[rows, best]
        higher_v = membrane[:, c] * threshold[best] > best_v * threshold[c]
        better = (counts[:, c] > best_count) | ((counts[:, c] == best_count) & higher_v)
        best = np.where(better, c, best)
    return best


@dataclass
class SimResult:
    """What a simulation of N images over T timesteps produced."""

    timesteps: int
    counts: np.ndarray  # (N, K) output spike counts
    membrane: np.ndarray  # (N, K) output membranes after the last timestep
    classes: np.ndarray  # (N,)
    spikes: np.ndarray  # (N,) IF spikes per image, all neuron layers
    synops: np.ndarray  # (N,) synaptic operations per image (spike x fan-out; analog MACs)
    saturation: np.ndarray  # (N, L) membrane saturation events per neuron layer
    layer_counts: list[np.ndarray] = field(default_factory=list)  # per neuron layer, if recorded

    def accuracy(self, labels: np.ndarray) -> float:
        return float(np.mean(self.classes == labels))


class _NeuronState:
    """One neuron layer's parameters in compute form and its per-batch state."""

    def __init__(self, layer: NeuronLayer, net: Network, first: bool) -> None:
        self.layer = layer
        self.exact = net.is_integer
        self.analog = first and net.config.input_mode == "analog"
        fmt = net.input_format
        in_max = max(-fmt.low, fmt.high) if self.analog else 1
        abs_w = np.abs(layer.weights.astype(np.float64))
        bound = float(abs_w.reshape(-1, layer.channels).sum(axis=0).max()) * in_max
        self.dtype = exact_float_dtype(bound) if self.exact else np.float32
        self.weights = layer.weights.astype(self.dtype)
        # membrane type: V + I must not wrap before the clamp
        self.vtype: type[np.number] = np.float64
        if net.formats is not None:
            headroom = (
                (1 << (net.formats.membrane_bits - 1))
                + bound
                + float(np.abs(layer.bias).max(initial=0))
            )
            self.vtype = np.int32 if headroom < 2**31 else np.int64
        self.bias = layer.bias.astype(self.vtype)
        self.threshold = layer.threshold.astype(self.vtype)
        if layer.kind == "conv":
            kernel = layer.weights.shape[:2]
            self.fan_out = (
                conv_fan_out(layer.in_shape, kernel, layer.strides, layer.pads)[None, :, :, None]
                * layer.channels
            )
        else:
            self.fan_out = layer.channels
        if net.formats is not None:
            self.v_min, self.v_max = net.formats.membrane_min, net.formats.membrane_max
        self.v_start = initial_membrane(layer, net.config).astype(self.vtype)

    def current(self, x: np.ndarray) -> np.ndarray:
        """Synaptic current W.x + b for input x (spikes or pixels)."""
        x = x.astype(self.dtype)
        if self.layer.kind == "conv":
            out = conv2d(x, self.weights, self.layer.strides, self.layer.pads)
        else:
            out = dense(x, self.weights)
        return out.astype(self.vtype) + self.bias

    def synops(self, x: np.ndarray) -> np.ndarray:
        """Synaptic operations caused by input events x (nonzero entries), per image."""
        events = (x != 0).reshape(x.shape[0], *self.layer.in_shape)
        return (events * self.fan_out).reshape(len(x), -1).sum(axis=1)


def gate_spikes(layer: PoolGate, spikes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per window, the spike of the input with the highest count (ties: first row-major).

    Scans the window offsets in row-major order, replacing the choice only on a strictly
    higher count; padding holds count -1 and never wins.
    """
    best_count = best_spike = None
    for count, spike in _window_offsets(layer, counts, spikes):
        if best_count is None:
            best_count, best_spike = count, spike
            continue
        better = count > best_count
        best_count = np.where(better, count, best_count)
        best_spike = np.where(better, spike, best_spike)
    return best_spike


def running_max_spikes(layer: PoolGate, counts: np.ndarray, own_counts: np.ndarray) -> np.ndarray:
    """Spike where the window's highest input count exceeds the output's own count, so the
    output count always equals the window's maximum count."""
    highest = None
    for count, _ in _window_offsets(layer, counts, None):
        highest = count if highest is None else np.maximum(highest, count)
    return highest > own_counts


def _window_offsets(layer: PoolGate, counts: np.ndarray, spikes: np.ndarray | None):
    """(counts, spikes) views of every window offset, row-major; padding: count -1, no spike."""
    counts = pad_nhwc(counts, layer.pads, -1)
    spikes = None if spikes is None else pad_nhwc(spikes, layer.pads, 0)
    (ph, pw), (sh, sw) = layer.pool, layer.strides
    ho, wo = layer.out_shape[:2]
    for dy in range(ph):
        for dx in range(pw):
            rows, cols = slice(dy, dy + ho * sh, sh), slice(dx, dx + wo * sw, sw)
            yield counts[:, rows, cols], None if spikes is None else spikes[:, rows, cols]


def simulate(
    net: Network,
    images: np.ndarray,
    timesteps: int | None = None,
    *,
    checkpoints: list[int] | None = None,
    batch_size: int = 64,
    record_layers: bool = False,
    quiet: bool = True,
    workers: int | None = None,
) -> SimResult | dict[int, SimResult]:
    """Run ``images`` (N, *input_shape) of input integers through ``net`` for ``timesteps``
    steps.

    With ``checkpoints`` the run goes to the largest T listed and returns a result per
    T, each identical to a separate run of that length (the simulation is causal).
    """
    images = check_images(images, net)
    steps = sorted(set(checkpoints)) if checkpoints else [timesteps or net.config.timesteps]
    for step in (steps[0], steps[-1]):
        net.config.check_run_timesteps(step)
    if not isinstance(net.layers[0], NeuronLayer):
        raise ValueError(f"the first layer {net.layers[0].name!r} must be a neuron layer")
    bar = progress_bar(len(images) * steps[-1], f"simulate {net.name}", quiet, unit="img-step")

    def run(start: int) -> dict[int, SimResult]:
        batch = images[start : start + batch_size]
        return _simulate_batch(net, batch, steps, record_layers, bar)

    # numpy releases the GIL in its kernels: one thread per core runs batches side by side
    with bar, ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        batches = list(pool.map(run, range(0, len(images), batch_size)))
    merged = {t: _concat([batch[t] for batch in batches]) for t in steps}
    return merged if checkpoints else merged[steps[0]]


class BatchRun:
    """One batch of images in flight: every layer's state, advanced one timestep at a time
    (the loop of the golden model and of the float SNN, written once)."""

    def __init__(self, net: Network, images: np.ndarray, total_steps: int) -> None:
        n = len(images)
        self.net, self.n, self.total_steps = net, n, total_steps
        self.states = [
            _NeuronState(layer, net, first=i == 0) for i, layer in enumerate(net.neuron_layers)
        ]
        self.membranes = [
            np.broadcast_to(s.v_start, (n, *s.layer.out_shape)).copy() for s in self.states
        ]
        count_type = np.int16 if net.config.max_timesteps < 2**15 else np.int32
        self.counts = [np.zeros((n, *layer.out_shape), dtype=count_type) for layer in net.layers]
        self.saturation = np.zeros((n, len(self.states)), dtype=np.int64)
        self.spikes_total = np.zeros(n, dtype=np.int64)
        self.synops = np.zeros(n, dtype=np.int64)
        self.inputs = images.reshape(n, *net.layers[0].in_shape)  # as the first layer reads them
        self.analog_current = None
        if net.config.input_mode == "analog":
            self.analog_current = self.states[0].current(self.inputs)
            self.synops += self.states[0].synops(self.inputs)

    def step(self, t: int, stop: int | None = None) -> np.ndarray | None:
        """Advance layers ``net.layers[:stop]`` (all by default) through timestep ``t``;
        return what the last of them emitted (the input of layer ``stop``): spikes, or for
        ``stop`` = 0 the Poisson spikes of the input (None for analog input)."""
        net, n = self.net, self.n
        x: np.ndarray | None = None
        if self.analog_current is None:
            x = poisson_spikes(self.inputs, net.config.seed, t, self.total_steps)
        neuron_index = 0
        for li, layer in enumerate(net.layers[:stop]):
            if isinstance(layer, PoolGate):
                if net.config.pool == "gate":
                    x = gate_spikes(layer, x, self.counts[li - 1])
                else:
                    x = running_max_spikes(layer, self.counts[li - 1], self.counts[li])
                self.counts[li] += x
                continue
            state, v = self.states[neuron_index], self.membranes[neuron_index]
            if neuron_index == 0 and self.analog_current is not None:
                v += self.analog_current
            else:
                self.synops += state.synops(x)
                v += state.current(x)
            if state.exact and (v.max() > state.v_max or v.min() < state.v_min):
                clamped = (v > state.v_max) | (v < state.v_min)
                self.saturation[:, neuron_index] += np.count_nonzero(
                    clamped.reshape(n, -1), axis=1
                )
                np.clip(v, state.v_min, state.v_max, out=v)
            fired = v >= state.threshold
            if net.config.reset == "subtract":
                np.subtract(v, state.threshold, out=v, where=fired)
            else:
                v[fired] = 0
            self.counts[li] += fired
            self.spikes_total += np.count_nonzero(fired.reshape(n, -1), axis=1)
            x = fired
            neuron_index += 1
        return x

    def result(self, timesteps: int, record: bool) -> SimResult:
        """The outputs after ``timesteps`` steps (copies: the run may go on)."""
        out_counts, out_v = self.counts[-1].copy(), self.membranes[-1].copy()
        neuron_counts = (
            [
                c.copy()
                for c, la in zip(self.counts, self.net.layers, strict=True)
                if isinstance(la, NeuronLayer)
            ]
            if record
            else []
        )
        return SimResult(
            timesteps=timesteps,
            counts=out_counts,
            membrane=out_v,
            classes=decide(out_counts, out_v, self.states[-1].threshold),
            spikes=self.spikes_total.copy(),
            synops=self.synops.copy(),
            saturation=self.saturation.copy(),
            layer_counts=neuron_counts,
        )


def _simulate_batch(
    net: Network, images: np.ndarray, steps: list[int], record: bool, bar
) -> dict[int, SimResult]:
    run = BatchRun(net, images, steps[-1])
    results: dict[int, SimResult] = {}
    for t in range(steps[-1]):
        run.step(t)
        bar.update(run.n)
        if t + 1 in steps:
            results[t + 1] = run.result(t + 1, record)
    return results


def _concat(results: list[SimResult]) -> SimResult:
    first = results[0]
    layer_counts = [
        np.concatenate([r.layer_counts[i] for r in results]) for i in range(len(first.layer_counts))
    ]
    return SimResult(
        timesteps=first.timesteps,
        counts=np.concatenate([r.counts for r in results]),
        membrane=np.concatenate([r.membrane for r in results]),
        classes=np.concatenate([r.classes for r in results]),
        spikes=np.concatenate([r.spikes for r in results]),
        synops=np.concatenate([r.synops for r in results]),
        saturation=np.concatenate([r.saturation for r in results]),
        layer_counts=layer_counts,
    )


def step_spikes(
    net: Network, images: np.ndarray, timesteps: int
) -> tuple[dict[int, SimResult], list[list[np.ndarray]]]:
    """The golden model after every step 1..T, and per layer of ``net.layers`` the spikes it
    emits at each step: (N, *out_shape) int64 arrays, the gates replayed step by step."""
    runs = simulate(net, images, checkpoints=list(range(1, timesteps + 1)), record_layers=True)
    assert isinstance(runs, dict)
    n = len(images)
    per_layer: list[list[np.ndarray]] = []
    neuron = 0
    for layer in net.layers:
        if isinstance(layer, NeuronLayer):
            cumulative = [np.zeros((n, *layer.out_shape), dtype=np.int64)]
            cumulative += [runs[t].layer_counts[neuron].astype(np.int64)
                           for t in range(1, timesteps + 1)]
            per_layer.append([cumulative[t + 1] - cumulative[t] for t in range(timesteps)])
            neuron += 1
            continue
        counts_in = np.zeros((n, *layer.in_shape), dtype=np.int64)
        counts_out = np.zeros((n, *layer.out_shape), dtype=np.int64)
        gated = []
        for spikes in per_layer[-1]:
            counts_in = counts_in + spikes
            if net.config.pool == "gate":
                out = gate_spikes(layer, spikes, counts_in).astype(np.int64)
            else:
                out = running_max_spikes(layer, counts_in, counts_out).astype(np.int64)
            counts_out = counts_out + out
            gated.append(out)
        per_layer.append(gated)
    return runs, per_layer
