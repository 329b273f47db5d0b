"""The HLS plan of a network: every stage's dimensions, word widths and unroll factors.

Shapes, widths and the refusals every backend shares come from ``spikeforge.lowering``.
Stage 0 reads and encodes the input; stage i + 1 is ``net.layers[i]``. Events between
stages are grouped: a neuron layer with P lanes sends its spikes in groups of P
channels, a gate passes its input's grouping through, the input sends the C channels of
a position in groups (all of them unless C is wide, see :func:`input_group`). The next
layer's synapse units are (input group) x (its own lanes).
"""

from __future__ import annotations

import numpy as np

from ..contract import STREAM_BITS
from ..ir import Network, NeuronLayer, PoolGate
from ..lowering import LoweredLayer, lower, shape3
from ..quant import layer_bounds, signed_bits
from .options import HlsOptions
from .plan_types import (
    GatePlan,
    HlsPlanError,
    InputPlan,
    NetworkPlan,
    NeuronPlan,
    StagePlan,
    Word,
    bits_for,
)
from .resources import over_budget, resource_error


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _word(
    h: int, w: int, groups: int, group: int, value_bits: int, signed: bool = False
) -> Word:
    return Word(bits_for(h), bits_for(w), bits_for(groups), group, value_bits, signed)


def input_group(channels: int, element_bits: int, max_lanes: int) -> int:
    """Channels per input word: all of a position's C when C <= max(max_lanes, elements
    per beat) (every image of a few channels), else the largest divisor of C up to that,
    so that a wide input (a feature vector's N elements at one position) does not ask the
    first layer for N x lanes synapse units."""
    return default_lanes(channels, max(max_lanes, STREAM_BITS // element_bits))


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
