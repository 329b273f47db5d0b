"""Random small integer networks and images, for checking every backend against the golden
model (and the golden model against hand-worked cases).

``random_network(seed)`` draws layer stacks, shapes, strides, paddings, word widths and run
modes (reset, input, initial membrane, max-pool mode), and for some networks per-layer
initial membranes; weights and thresholds are scaled so
that neurons actually spike, and narrow membranes make saturation happen. The input is an
image (H, W, C), a sequence (L, C) read by Conv1D-like layers (kernels 1 x k), or a
feature vector (N,) read by dense layers, of uint8 pixels or of 8- or 16-bit signed or
unsigned integers (drawn from a stream of its own, so that an image network of uint8
pixels is the one the same seed gave before inputs had a format).
"""

from __future__ import annotations

import numpy as np

from spikeforge.ir import (
    Formats,
    InputFormat,
    Network,
    NeuronLayer,
    PoolGate,
    SnnConfig,
    conv_output_size,
)

RANKS = (3, 2, 1)  # image, sequence, feature vector


def _input_kind(seed: int, poisson: bool) -> tuple[int, InputFormat]:
    """The input's rank and format: images of uint8 pixels half of the time."""
    rng = np.random.default_rng([seed, 22])
    rank = int(rng.choice(RANKS, p=[0.6, 0.2, 0.2]))
    if poisson or rng.random() < 0.4:
        return rank, InputFormat()
    bits = int(rng.choice([8, 16]))
    return rank, InputFormat(bits, bool(rng.random() < 0.6), float(rng.uniform(1, 300)))


def _weights(rng: np.random.Generator, shape: tuple[int, ...], bits: int) -> np.ndarray:
    qmax = (1 << (bits - 1)) - 1
    return rng.integers(-qmax, qmax + 1, size=shape, dtype=np.int64)


def _thresholds(rng, weights: np.ndarray, in_max: int, bits: int) -> np.ndarray:
    """Thresholds around a typical positive input current, so that some neurons fire."""
    channels = weights.shape[-1]
    positive = np.clip(weights.reshape(-1, channels), 0, None).sum(axis=0) * in_max
    typical = np.maximum(positive // 3, 1)
    theta = (typical * rng.uniform(0.3, 1.5, size=channels)).astype(np.int64)
    return np.clip(theta, 1, (1 << bits) - 1)


def _bias(rng, theta: np.ndarray, bits: int) -> np.ndarray:
    limit = (1 << (bits - 1)) - 1
    bias = (theta * rng.uniform(-0.3, 0.3, size=len(theta))).astype(np.int64)
    return np.clip(bias, -limit, limit)


def random_network(seed: int, max_side: int = 9) -> Network:
    """A random valid integer network (conv/gate stack, then dense layers)."""
    rng = np.random.default_rng(seed)
    membrane_bits = int(rng.integers(10, 25))
    formats = Formats(
        weight_bits=int(rng.integers(3, 9)),
        bias_bits=int(rng.integers(6, membrane_bits + 1)),
        threshold_bits=int(rng.integers(4, membrane_bits - 1)),
        membrane_bits=membrane_bits,
    )
    max_t = int(rng.integers(4, 24))
    config = SnnConfig(
        reset=str(rng.choice(["subtract", "zero"])),
        input_mode=str(rng.choice(["analog", "poisson"])),
        v_init=str(rng.choice(["zero", "half"])),
        pool=str(rng.choice(["gate", "running_max"])),
        seed=int(rng.integers(1, 2**32)),
        timesteps=int(rng.integers(1, max_t + 1)),
        max_timesteps=max_t,
    )
    rank, input_format = _input_kind(seed, config.input_mode == "poisson")
    shape = (
        int(rng.integers(3, max_side + 1)),
        int(rng.integers(3, max_side + 1)),
        int(rng.integers(1, 4)),
    )
    if rank == 2:
        shape = (1, shape[1], shape[2])
    input_shape = {3: shape, 2: shape[1:], 1: (int(np.prod(shape)),)}[rank]
    layers: list[NeuronLayer | PoolGate] = []
    in_max = 1
    if config.input_mode == "analog":
        in_max = max(-input_format.low, input_format.high)
    for _ in range(int(rng.integers(0, 3)) if rank > 1 else 0):
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        kh = 1 if rank == 2 else kh  # a sequence's kernels are 1 x k
        if kh > shape[0] or kw > shape[1]:
            break
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        pads = tuple(int(rng.integers(0, k)) for k in (kh, kh, kw, kw))
        out_hw = (
            conv_output_size(shape[0], kh, sh, pads[0], pads[1]),
            conv_output_size(shape[1], kw, sw, pads[2], pads[3]),
        )
        cout = int(rng.integers(1, 5))
        weights = _weights(rng, (kh, kw, shape[2], cout), formats.weight_bits)
        theta = _thresholds(rng, weights, in_max, formats.threshold_bits)
        layers.append(
            NeuronLayer(
                f"conv{len(layers)}",
                "conv",
                shape,
                (*out_hw, cout),
                weights,
                _bias(rng, theta, formats.bias_bits),
                theta,
                (sh, sw),
                pads,
            )
        )
        shape, in_max = (*out_hw, cout), 1
        ph, pw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        ph = 1 if rank == 2 else ph
        if rng.random() < 0.6 and ph <= shape[0] and pw <= shape[1] and ph * pw > 1:
            psh, psw = int(rng.integers(1, ph + 1)), int(rng.integers(1, pw + 1))
            ppads = tuple(int(rng.integers(0, k)) for k in (ph, ph, pw, pw))
            gate_hw = (
                conv_output_size(shape[0], ph, psh, ppads[0], ppads[1]),
                conv_output_size(shape[1], pw, psw, ppads[2], ppads[3]),
            )
            layers.append(
                PoolGate(
                    f"pool{len(layers)}", shape, (*gate_hw, shape[2]), (ph, pw), (psh, psw), ppads
                )
            )
            shape = (*gate_hw, shape[2])
    hidden = [int(rng.integers(2, 12)) for _ in range(int(rng.integers(0, 2)))]
    for units in [*hidden, int(rng.integers(2, 6))]:
        nin = int(np.prod(shape))
        weights = _weights(rng, (nin, units), formats.weight_bits)
        theta = _thresholds(rng, weights, in_max, formats.threshold_bits)
        layers.append(
            NeuronLayer(
                f"dense{len(layers)}",
                "dense",
                (nin,),
                (units,),
                weights,
                _bias(rng, theta, formats.bias_bits),
                theta,
            )
        )
        shape, in_max = (units,), 1
    _own_initial_membranes(seed, layers, formats)
    return Network(f"random{seed}", input_shape, layers, config, formats, input_format)


def _own_initial_membranes(seed: int, layers: list, formats: Formats) -> None:
    """For some networks, layers with their own initial membranes (``NeuronLayer.v_init``):
    per channel, anywhere from -theta to theta, or an end of the narrowest membrane range
    the formats allow (rtl_helpers.narrow_membranes) now and then. Drawn from a stream of
    its own, so the rest of a network is the one its seed gave before."""
    rng = np.random.default_rng([seed, 25])
    if rng.random() >= 0.4:
        return
    bits = max(formats.threshold_bits + 2, formats.bias_bits)
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for layer in layers:
        if not isinstance(layer, NeuronLayer) or rng.random() < 0.3:
            continue
        theta = layer.threshold
        v0 = np.floor(theta * rng.uniform(-1.0, 1.0, size=len(theta))).astype(np.int64)
        ends = rng.random(len(theta))
        v0[ends < 0.05], v0[ends > 0.95] = low, high
        layer.v_init = np.clip(v0, low, high)


def random_images(seed: int, net: Network, count: int) -> np.ndarray:
    """Inputs of the network's format with a mix of zeros, mid-range and extreme values
    (uint8 pixels for an image network of the default format)."""
    rng = np.random.default_rng(seed)
    fmt = net.input_format
    if fmt.is_pixels:
        pixels = rng.integers(0, 256, size=(count, *net.input_shape), dtype=np.uint8)
        pixels[rng.random(pixels.shape) < 0.4] = 0
        return pixels
    images = rng.integers(fmt.low, fmt.high + 1, size=(count, *net.input_shape))
    images[rng.random(images.shape) < 0.4] = 0
    extreme = rng.random(images.shape)
    images[extreme < 0.05] = fmt.low
    images[extreme > 0.95] = fmt.high
    return images.astype(fmt.dtype)
