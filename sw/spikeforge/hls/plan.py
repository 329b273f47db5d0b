"""The HLS plan of a network: every stage's dimensions, word widths and unroll factors.

Shapes, widths and the refusals every backend shares come from ``spikeforge.lowering``.
Stage 0 reads and encodes the input; stage i + 1 is ``net.layers[i]``. Events between
stages are grouped: a neuron layer with P lanes sends its spikes in groups of P
channels, a gate passes its input's grouping through, the input sends the C channels of
a position in groups (all of them unless C is wide, see :func:`input_group`). The next
layer's synapse units are (input group) x (its own lanes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract import STREAM_BITS
from ..errors import UserError
from ..ir import Network, NeuronLayer, PoolGate
from ..lowering import LoweredLayer, lower, shape3
from ..quant import layer_bounds, signed_bits
from .options import HlsOptions


class HlsPlanError(UserError, ValueError):
    """The network cannot be built as asked (unroll factors, shapes, resources)."""


def bits_for(count: int) -> int:
    """Bits of an unsigned index into ``count`` items (at least 1)."""
    return max(1, int(count - 1).bit_length())


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class Word:
    """An event word between stages: (y, x, group, G values of VB bits, last); the values
    are two's complement when ``signed`` (the analog input of a signed format)."""

    y_bits: int
    x_bits: int
    g_bits: int
    group: int
    value_bits: int
    signed: bool = False

    @property
    def cpp(self) -> str:
        signed = ", true" if self.signed else ""
        return (
            f"spikeforge::event_word<{self.y_bits}, {self.x_bits}, {self.g_bits}, "
            f"{self.group}, {self.value_bits}{signed}>"
        )


def _word(
    h: int, w: int, groups: int, group: int, value_bits: int, signed: bool = False
) -> Word:
    return Word(bits_for(h), bits_for(w), bits_for(groups), group, value_bits, signed)


@dataclass(frozen=True)
class InputPlan:
    """Stage 0: reads ``beats`` in_r beats of ``element_bits``-bit elements (signed or
    not) into a buffer and sends the first layer words of ``group`` channels of a
    position: the element values once per image (analog), or spikes every step."""

    stage: int
    height: int
    width: int
    channels: int
    beats: int
    poisson: bool
    seed: int
    out_word: Word
    element_bits: int = 8
    signed: bool = False

    @property
    def elements_per_beat(self) -> int:
        return STREAM_BITS // self.element_bits

    @property
    def group(self) -> int:
        """Channels per word (the first layer's input group)."""
        return self.out_word.group

    @property
    def groups(self) -> int:
        """Words per position."""
        return self.channels // self.group

    @property
    def buffer_size(self) -> int:
        """Elements of the input buffer: every beat's, the last beat's padding included."""
        return self.beats * self.elements_per_beat

    @property
    def pixel_banks(self) -> int:
        """Cyclic banks of the element buffer so that a beat's elements and a word's G
        elements never collide."""
        return max(self.elements_per_beat, self.group)


def input_group(channels: int, element_bits: int, max_lanes: int) -> int:
    """Channels per input word: all of a position's C when C <= max(max_lanes, elements
    per beat) (every image of a few channels), else the largest divisor of C up to that,
    so that a wide input (a feature vector's N elements at one position) does not ask the
    first layer for N x lanes synapse units."""
    return default_lanes(channels, max(max_lanes, STREAM_BITS // element_bits))


@dataclass(frozen=True)
class NeuronPlan:
    stage: int
    index: int  # among the neuron layers (SAT_<index>)
    layer: NeuronLayer
    in_hwc: tuple[int, int, int]
    out_hwc: tuple[int, int, int]
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    group_in: int
    lanes: int
    depthwise: bool  # average pooling: output channel c sees input channel c only
    analog: bool
    output: bool
    in_word: Word
    out_word: Word
    weight_bits: int
    bias_bits: int
    threshold_bits: int
    membrane_bits: int
    acc_bits: int
    count_bits: int

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def kind(self) -> str:
        return self.layer.kind

    @property
    def function(self) -> str:
        """The library's process for this layer: if_conv, if_dense or if_avg_pool."""
        return "avg_pool" if self.depthwise else self.kind

    @property
    def label(self) -> str:
        return "conv (average pool)" if self.depthwise else self.kind

    @property
    def cfg(self) -> str:
        return f"layer{self.stage}_config"

    @property
    def groups_in(self) -> int:
        return self.in_hwc[2] // self.group_in

    @property
    def groups_out(self) -> int:
        return self.out_hwc[2] // self.lanes

    @property
    def out_positions(self) -> int:
        return self.out_hwc[0] * self.out_hwc[1]

    @property
    def acc_depth(self) -> int:
        return self.out_positions * self.groups_out

    @property
    def rows(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def weight_group(self) -> int:
        """Input channels per weight word: G, or 1 for a depthwise layer."""
        return 1 if self.depthwise else self.group_in

    @property
    def weight_depth(self) -> int:
        if self.depthwise:
            return self.groups_in
        return self.rows * self.groups_in * self.groups_out

    @property
    def sum_bits(self) -> int:
        return max(self.membrane_bits, self.acc_bits, self.bias_bits) + 2

    @property
    def synapse_units(self) -> int:
        return self.weight_group * self.lanes


@dataclass(frozen=True)
class GatePlan:
    stage: int
    layer: PoolGate
    in_hwc: tuple[int, int, int]
    out_hwc: tuple[int, int, int]
    group: int
    in_word: Word
    out_word: Word
    count_bits: int
    running_max: bool  # config.pool == "running_max" (else the paper's gate)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def kind(self) -> str:
        return "gate"

    @property
    def cfg(self) -> str:
        return f"gate{self.stage}_config"

    @property
    def groups(self) -> int:
        return self.in_hwc[2] // self.group

    @property
    def dy_bits(self) -> int:
        return bits_for(self.layer.pool[0])

    @property
    def dx_bits(self) -> int:
        return bits_for(self.layer.pool[1])

    @property
    def aux_bits(self) -> int:
        """The window state's second field: the step the maximum rose, or the winner's
        offset (dy, dx)."""
        return self.count_bits if self.running_max else self.dy_bits + self.dx_bits

    @property
    def win_depth(self) -> int:
        return self.out_hwc[0] * self.out_hwc[1] * self.groups

    @property
    def in_depth(self) -> int:
        return self.in_hwc[0] * self.in_hwc[1] * self.groups


StagePlan = NeuronPlan | GatePlan


@dataclass(frozen=True)
class NetworkPlan:
    net: Network
    options: HlsOptions
    input: InputPlan
    stages: list[StagePlan]

    @property
    def neurons(self) -> list[NeuronPlan]:
        return [s for s in self.stages if isinstance(s, NeuronPlan)]

    @property
    def num_classes(self) -> int:
        return self.net.num_classes


def default_lanes(channels: int, max_lanes: int) -> int:
    """The largest divisor of ``channels`` that is at most ``max_lanes``."""
    return max(d for d in divisors(channels) if d <= max_lanes)


def is_depthwise(layer: NeuronLayer) -> bool:
    """An average pool as the converter writes it: a convolution whose output channel c
    sees only input channel c, with one weight per channel at every window position."""
    if layer.kind != "conv":
        return False
    kh, kw, cin, cout = layer.weights.shape
    if cin != cout:
        return False
    w = layer.weights.reshape(kh * kw, cin, cout)
    diagonal = w[:, np.arange(cin), np.arange(cin)]
    off = w.copy()
    off[:, np.arange(cin), np.arange(cin)] = 0
    return not off.any() and bool((diagonal == diagonal[0]).all())


def _lanes(
    layer: NeuronLayer, options: HlsOptions, depthwise: bool, group: int, cap: int | None
) -> int:
    """The layer's lanes: ``--unroll``, else the largest divisor of its channels up to
    ``max_lanes`` (and up to ``cap``, where a smaller core had to be found)."""
    channels = layer.channels
    lanes = options.unroll.get(layer.name)
    if depthwise:
        if lanes not in (None, group):
            raise HlsPlanError(
                f"layer '{layer.name}' is an average pool (one weight per channel): it runs in "
                f"its input's groups of {group} channels; drop --unroll {layer.name} or set "
                f"{layer.name}={group}"
            )
        return group
    if lanes is None:
        return default_lanes(channels, min(options.max_lanes, cap or options.max_lanes))
    if channels % lanes:
        choices = ", ".join(map(str, divisors(channels)))
        raise HlsPlanError(
            f"layer '{layer.name}': unroll factor {lanes} does not divide its {channels} output "
            f"channels; choose one of {choices} (--unroll {layer.name}=N)"
        )
    return lanes


def _acc_bits(net: Network, lowered: LoweredLayer) -> int:
    """Width of the synaptic sum W * s (no bias): at least the spec's current bits."""
    return max(
        signed_bits(lowered.current_low, lowered.current_high),
        layer_bounds(net, lowered.index).current_bits,
    )


def _check_gate_windows(gate: PoolGate) -> None:
    for axis, (pool, before, after) in enumerate(
        zip(gate.pool, gate.pads[0::2], gate.pads[1::2], strict=True)
    ):
        if before >= pool or after >= pool:
            side = "rows" if axis == 0 else "columns"
            raise HlsPlanError(
                f"gate '{gate.name}': padding of {max(before, after)} {side} is not smaller than "
                f"its pool of {pool}, so some window holds only padding; the HLS gate needs a "
                "real input in every window"
            )


def plan_network(net: Network, options: HlsOptions | None = None) -> NetworkPlan:
    """Check ``net`` and ``options`` and derive every stage's parameters. Where the
    estimate exceeds the part, the default lanes of the layer that needs the most are
    narrowed until the core fits; a layer given by ``--unroll`` is never changed."""
    from .resources import over_budget, resource_error

    options = options or HlsOptions()
    caps: dict[str, int] = {}
    while True:
        plan = _plan(net, options, caps)
        excess = over_budget(plan) if options.check_resources else None
        if excess is None:
            return plan
        worst = next((s for s in plan.neurons if s.name == excess.worst), None)
        if worst is None or worst.name in options.unroll or worst.depthwise or worst.lanes == 1:
            raise resource_error(plan, excess)
        caps[worst.name] = worst.lanes - 1


def _plan(net: Network, options: HlsOptions, caps: dict[str, int]) -> NetworkPlan:
    """The plan with default lanes capped per layer by ``caps``."""
    lowered = lower(net)  # first: it refuses the float SNN and what no backend builds
    names = {layer.name for layer in net.neuron_layers}
    unknown = sorted(set(options.unroll) - names)
    if unknown:
        raise HlsPlanError(
            f"--unroll names {', '.join(unknown)}, which are not neuron layers of "
            f"'{net.name}' ({', '.join(layer.name for layer in net.neuron_layers)})"
        )
    fmt, cfg, source = net.formats, net.config, lowered.input
    assert fmt is not None
    h, w, c = source.shape
    group = input_group(c, source.element_bits, options.max_lanes)
    if source.analog:  # the element values, as signed as the input
        in_word = _word(h, w, c // group, group, source.element_bits, source.signed)
    else:
        in_word = _word(h, w, c // group, group, 1)
    input_plan = InputPlan(
        0, h, w, c, source.beats, not source.analog, source.seed, in_word,
        source.element_bits, source.signed,
    )
    shape, word = source.shape, in_word
    stages: list[StagePlan] = []
    for entry in lowered.layers:
        layer = entry.layer
        depthwise = is_depthwise(layer)
        lanes = _lanes(layer, options, depthwise, group, caps.get(layer.name))
        if entry.dense:  # a convolution whose kernel covers the whole source map
            kernel, strides, pads = (shape[0], shape[1]), (1, 1), (0, 0, 0, 0)
        else:
            kernel, strides, pads = entry.kernel, entry.strides, entry.pads
        out = entry.out_shape
        out_word = _word(out[0], out[1], out[2] // lanes, lanes, 1)
        stages.append(
            NeuronPlan(
                stage=entry.position + 1,
                index=entry.index,
                layer=layer,
                in_hwc=shape,
                out_hwc=out,
                kernel=kernel,
                strides=strides,
                pads=pads,
                group_in=group,
                lanes=lanes,
                depthwise=depthwise,
                analog=entry.analog,
                output=entry.final,
                in_word=word,
                out_word=out_word,
                weight_bits=fmt.weight_bits,
                bias_bits=fmt.bias_bits,
                threshold_bits=fmt.threshold_bits,
                membrane_bits=fmt.membrane_bits,
                acc_bits=_acc_bits(net, entry),
                count_bits=cfg.count_bits,
            )
        )
        shape, word, group = out, out_word, lanes
        for offset, gate in enumerate(entry.gates, start=1):
            _check_gate_windows(gate)
            out = shape3(gate.out_shape)
            out_word = _word(out[0], out[1], out[2] // group, group, 1)
            stages.append(
                GatePlan(
                    entry.position + offset + 1, gate, shape, out, group, word, out_word,
                    cfg.count_bits, cfg.pool == "running_max",
                )
            )
            shape, word = out, out_word
    return NetworkPlan(net, options, input_plan, stages)
