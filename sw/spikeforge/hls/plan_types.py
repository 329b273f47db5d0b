"""The data of an HLS plan (spikeforge.hls.plan derives it): the event words between
stages and every stage's dimensions, word widths and unroll factors."""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import STREAM_BITS
from ..errors import UserError
from ..ir import Network, NeuronLayer, PoolGate
from .options import HlsOptions


class HlsPlanError(UserError, ValueError):
    """The network cannot be built as asked (unroll factors, shapes, resources)."""


def bits_for(count: int) -> int:
    """Bits of an unsigned index into ``count`` items (at least 1)."""
    return max(1, int(count - 1).bit_length())


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
        """The layer kind in the library: its config derives from spikeforge::<function>_config
        (conv, dense or avg_pool; layer_config.h)."""
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
