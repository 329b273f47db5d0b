"""The intermediate representations: the ANN layer graph and the spiking network.

Two levels, both plain dataclasses over numpy arrays, with no TensorFlow import:

* ``AnnGraph``: what the frontend reads from a Keras model (conv, dense, batchnorm, ...),
  rewritten by the passes until only spiking-expressible layers remain.
* ``Network``: the spiking network. Each ``NeuronLayer`` is a Conv or Dense layer of
  integrate-and-fire neurons with a per-output-channel threshold; ``PoolGate`` is spiking
  max-pool gating. With ``formats`` set the arrays are integers and the network is the
  specification every backend reproduces (docs/spec.md); with ``formats=None`` it is the
  float SNN (thresholds 1.0) used to measure quantization loss.

Activations are NHWC throughout; a Dense layer consumes its predecessor flattened in
row-major (h, w, c) order, as Keras' Flatten does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .errors import UserError

Shape = tuple[int, ...]
Pads = tuple[int, int, int, int]  # top, bottom, left, right

# ---------------------------------------------------------------------------------------
# ANN graph (float), produced by the frontend and rewritten by the passes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relu:
    """A ReLU, optionally clipped at ``cap`` and, with ``levels``, quantized clip-floor:
    ``cap / L * clip(floor(x * L / cap + 1/2), 0, L)`` (QCFS; QKeras' quantized_relu)."""

    cap: float | None = None
    levels: int | None = None

    def __post_init__(self) -> None:
        if self.levels is not None and (self.cap is None or self.levels < 1):
            raise ValueError("a clip-floor activation needs a cap and at least one level")
        if self.cap is not None and not self.cap > 0:
            raise ValueError(f"a ReLU cap must be positive, not {self.cap}")


@dataclass
class Conv2D:
    name: str
    kernel: np.ndarray  # (kh, kw, cin, cout)
    bias: np.ndarray  # (cout,)
    strides: tuple[int, int] = (1, 1)
    pads: Pads = (0, 0, 0, 0)
    relu: Relu | None = None  # the neurons' activation; None: linear


@dataclass
class Dense:
    name: str
    weights: np.ndarray  # (nin, nout)
    bias: np.ndarray  # (nout,)
    relu: Relu | None = None


@dataclass
class BatchNorm:
    name: str
    gamma: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    epsilon: float


@dataclass
class ReLU:
    name: str
    spec: Relu = field(default_factory=Relu)


@dataclass
class MaxPool:
    name: str
    pool: tuple[int, int]
    strides: tuple[int, int]
    pads: Pads = (0, 0, 0, 0)


@dataclass
class AvgPool:
    name: str
    pool: tuple[int, int]
    strides: tuple[int, int]
    pads: Pads = (0, 0, 0, 0)


@dataclass
class Flatten:
    name: str


@dataclass
class Reshape:
    """Relabels the elements (row-major order unchanged) as ``target``: the (H, W, C) view
    a Conv1D or a 2-D image input gets, (1, L, C) or (H, W, 1)."""

    name: str
    target: Shape


@dataclass
class Dropout:
    name: str


@dataclass
class Softmax:
    name: str


@dataclass
class Sigmoid(Softmax):
    """The logistic function on every output, ``1 / (1 + exp(-x))``.

    Like softmax it is an output squashing that keeps each class's order (it is increasing
    per unit), so every pass treats it as an output :class:`Softmax`: dropped on the output
    (the class is the neuron that spikes most), refused elsewhere. Only the numpy ANN
    computes it differently."""


AnnLayer = (
    Conv2D | Dense | BatchNorm | ReLU | MaxPool | AvgPool | Flatten | Reshape | Dropout | Softmax
)


@dataclass
class AnnGraph:
    """A single-path feed-forward graph, input first."""

    input_shape: Shape  # (N,), (L, C), (H, W) or (H, W, C), as the model's input
    layers: list[AnnLayer]
    name: str = "model"


# ---------------------------------------------------------------------------------------
# Spiking network
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formats:
    """Word widths of the integer network (two's complement unless noted)."""

    weight_bits: int = 8
    bias_bits: int = 20
    threshold_bits: int = 16  # unsigned; thresholds are 1 .. 2**threshold_bits - 1
    membrane_bits: int = 24

    def __post_init__(self) -> None:
        for name in ("weight_bits", "bias_bits", "threshold_bits", "membrane_bits"):
            value = getattr(self, name)
            if not 2 <= value <= 48:
                raise ValueError(f"{name}={value} is outside 2..48")
        if self.threshold_bits > self.membrane_bits - 2:
            raise ValueError(
                f"threshold_bits={self.threshold_bits} must be at most membrane_bits - 2 "
                f"({self.membrane_bits - 2}) so that a membrane can hold twice the threshold"
            )
        if self.bias_bits > self.membrane_bits:
            raise ValueError(
                f"bias_bits={self.bias_bits} exceeds membrane_bits={self.membrane_bits}"
            )

    @property
    def membrane_min(self) -> int:
        return -(1 << (self.membrane_bits - 1))

    @property
    def membrane_max(self) -> int:
        return (1 << (self.membrane_bits - 1)) - 1


ResetMode = Literal["subtract", "zero"]
InputMode = Literal["analog", "poisson"]
VInit = Literal["zero", "half"]
PoolMode = Literal["gate", "running_max"]


class TimestepsError(UserError, ValueError):
    """A run-time T outside what the network was built for."""


@dataclass(frozen=True)
class SnnConfig:
    """Run-time behaviour shared by every backend (docs/spec.md)."""

    reset: ResetMode = "subtract"
    input_mode: InputMode = "analog"
    v_init: VInit = "zero"
    pool: PoolMode = "gate"  # max-pool: the paper's gate, or the running maximum of counts
    seed: int = 1  # Poisson generator seed, 1 .. 2**32 - 1
    timesteps: int = 32  # default T
    max_timesteps: int = 255  # compile-time maximum of T

    def __post_init__(self) -> None:
        if self.reset not in ("subtract", "zero"):
            raise ValueError(f"reset must be 'subtract' or 'zero', not {self.reset!r}")
        if self.input_mode not in ("analog", "poisson"):
            raise ValueError(f"input must be 'analog' or 'poisson', not {self.input_mode!r}")
        if self.v_init not in ("zero", "half"):
            raise ValueError(f"v_init must be 'zero' or 'half', not {self.v_init!r}")
        if self.pool not in ("gate", "running_max"):
            raise ValueError(f"pool must be 'gate' or 'running_max', not {self.pool!r}")
        if not 1 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed} must be in 1 .. 2**32 - 1 (zero locks xorshift)")
        if not 1 <= self.max_timesteps < 2**16:
            raise ValueError(f"max_timesteps={self.max_timesteps} must be in 1 .. 65535")
        if not 1 <= self.timesteps <= self.max_timesteps:
            raise ValueError(
                f"timesteps={self.timesteps} must be in 1 .. max_timesteps={self.max_timesteps}"
            )

    def check_run_timesteps(self, steps: int) -> None:
        """Raise TimestepsError unless ``steps`` is a run-time T this network can run."""
        if not 1 <= steps <= self.max_timesteps:
            raise TimestepsError(
                f"--timesteps {steps}: the network's T must be in 1 .. {self.max_timesteps} "
                "(its max_timesteps); convert with a larger --max-timesteps"
            )

    @property
    def count_bits(self) -> int:
        """Width of a spike counter that can hold max_timesteps spikes."""
        return int(self.max_timesteps).bit_length()


@dataclass
class NeuronLayer:
    """A Conv or Dense layer of integrate-and-fire neurons."""

    name: str
    kind: Literal["conv", "dense"]
    in_shape: Shape  # (H, W, C) for conv, (N,) for dense
    out_shape: Shape
    weights: np.ndarray  # conv (kh, kw, cin, cout); dense (nin, nout)
    bias: np.ndarray  # (cout,) added to the membrane every timestep
    threshold: np.ndarray  # (cout,) per output channel
    strides: tuple[int, int] = (1, 1)
    pads: Pads = (0, 0, 0, 0)
    scale: float = 1.0  # normalization factor lambda of this layer's ANN activations
    # (cout,) the membrane of every neuron of a channel at an image's start, in membrane
    # units; None: the config's rule (``SnnConfig.v_init``), see quant.initial_membrane
    v_init: np.ndarray | None = None

    @property
    def channels(self) -> int:
        return int(self.weights.shape[-1])

    @property
    def neurons(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def fan_in(self) -> int:
        return int(np.prod(self.weights.shape[:-1]))


@dataclass
class PoolGate:
    """Spiking max-pool over windows of its input layer's spikes (``SnnConfig.pool``)."""

    name: str
    in_shape: Shape  # (H, W, C)
    out_shape: Shape
    pool: tuple[int, int]
    strides: tuple[int, int]
    pads: Pads = (0, 0, 0, 0)


SnnLayer = NeuronLayer | PoolGate


@dataclass(frozen=True)
class InputFormat:
    """The integers a network takes as input, and how real-valued data becomes them.

    An input element is a ``bits``-wide integer, two's complement when ``signed``. Real data
    ``x`` (what the ANN sees) becomes ``clip(rint(x * scale), low, high)``; the default is
    uint8 pixels, the ANN seeing ``pixel / 255`` (scale 255). Only the integers are part of
    the spec; ``scale`` tells the tools how to get them and the float SNN what they mean.
    """

    bits: int = 8
    signed: bool = False
    scale: float = 255.0

    def __post_init__(self) -> None:
        if self.bits not in INPUT_BITS:
            raise ValueError(f"input bits={self.bits}: choose one of {INPUT_BITS}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"input scale={self.scale} must be a positive finite number")

    @property
    def low(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def high(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def is_pixels(self) -> bool:
        """uint8 pixels, the ANN seeing pixel / 255: the integers are the data itself."""
        return self == InputFormat()

    @property
    def dtype(self) -> np.dtype:
        """The numpy type of the input integers: uint8, int8, uint16 or int16."""
        return np.dtype(f"{'i' if self.signed else 'u'}{self.bits // 8}")

    def encode(self, data: np.ndarray) -> np.ndarray:
        """The network's input integers for ``data`` as the user keeps it (see
        :func:`ann_view`): ``clip(rint(ann_view(data) * scale), low, high)``, exactly the
        pixels themselves for uint8 pixels."""
        data = np.asarray(data)
        if self.is_pixels and data.dtype == np.uint8:
            return data
        scaled = np.rint(ann_view(data).astype(np.float64) * self.scale)
        return np.clip(scaled, self.low, self.high).astype(self.dtype)


INPUT_BITS = (8, 16)


def ann_view(data: np.ndarray) -> np.ndarray:
    """What the ANN sees of ``data`` (float32): uint8 arrays are pixels, seen as
    ``pixel / 255``; every other dtype holds the real values themselves."""
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return data.astype(np.float32) / 255.0
    return data.astype(np.float32)


@dataclass
class Network:
    """A spiking network: the integer spec when ``formats`` is set, else the float SNN."""

    name: str
    input_shape: Shape  # (N,), (L, C) or (H, W, C): the elements in row-major order
    layers: list[SnnLayer]
    config: SnnConfig = field(default_factory=SnnConfig)
    formats: Formats | None = None
    input_format: InputFormat = field(default_factory=InputFormat)

    def __post_init__(self) -> None:
        fmt = self.input_format
        if self.config.input_mode == "poisson" and (fmt.bits != 8 or fmt.signed):
            raise ValueError(
                f"Poisson input draws spikes from uint8 values; this network's input is "
                f"{fmt.bits}-bit {'signed' if fmt.signed else 'unsigned'}: use analog input"
            )
        for layer in self.neuron_layers:
            if layer.v_init is None:
                continue
            if np.shape(layer.v_init) != (layer.channels,):
                raise ValueError(
                    f"layer '{layer.name}': v_init has shape {list(np.shape(layer.v_init))}, "
                    f"but the layer has {layer.channels} channels"
                )
            if self.formats is not None:
                low, high = self.formats.membrane_min, self.formats.membrane_max
                if layer.v_init.min() < low or layer.v_init.max() > high:
                    raise ValueError(
                        f"layer '{layer.name}': an initial membrane (v_init) is outside the "
                        f"membrane range {low}..{high} (membrane_bits="
                        f"{self.formats.membrane_bits})"
                    )

    @property
    def is_integer(self) -> bool:
        return self.formats is not None

    @property
    def neuron_layers(self) -> list[NeuronLayer]:
        return [layer for layer in self.layers if isinstance(layer, NeuronLayer)]

    @property
    def num_classes(self) -> int:
        return self.neuron_layers[-1].channels

    @property
    def output(self) -> NeuronLayer:
        return self.neuron_layers[-1]

    def takes_analog_input(self, index: int) -> bool:
        """Whether neuron layer ``index`` receives the input itself as a current, once
        per image (the first layer with analog input); every other layer gets spikes."""
        return index == 0 and self.config.input_mode == "analog"


def conv_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Output length of a convolution or pooling window along one axis."""
    return (size + pad_before + pad_after - kernel) // stride + 1


def same_pads(size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int]) -> Pads:
    """Keras/TensorFlow 'same' padding: extra row/column goes to the bottom/right."""
    pads: list[int] = []
    for n, k, s in zip(size, kernel, strides, strict=True):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return (pads[0], pads[1], pads[2], pads[3])
