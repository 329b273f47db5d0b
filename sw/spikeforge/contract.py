"""The hardware contract shared by the HLS top, the RTL core, the simulators and the driver:
the AXI4-Lite register map and the AXI4-Stream packing (pure numpy, no pynq).

``docs/hardware-contract.md`` shows the table :func:`register_table_markdown` generates; a
test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir import Network

STREAM_BITS = 32


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: str  # "rw", "ro", or the Vitis control-register semantics
    description: str


@dataclass(frozen=True)
class Bit:
    """One flag of a register: the HLS and RTL parameter files and the driver take their
    positions from here."""

    register: str
    name: str
    position: int
    meaning: str

    @property
    def mask(self) -> int:
        return 1 << self.position


BITS = [
    Bit("CTRL", "AP_START", 0, "ap_start (W1S)"),
    Bit("CTRL", "AP_DONE", 1, "ap_done (COR)"),
    Bit("CTRL", "AP_IDLE", 2, "ap_idle"),
    Bit("CTRL", "AP_READY", 3, "ap_ready (COR)"),
    Bit("CTRL", "AUTO_RESTART", 7, "auto_restart"),
    Bit("GIE", "ENABLE", 0, "global interrupt enable"),
    Bit("IER", "AP_DONE", 0, "ap_done interrupt enable"),
    Bit("IER", "AP_READY", 1, "ap_ready interrupt enable"),
    Bit("ISR", "AP_DONE", 0, "ap_done interrupt (toggle on write)"),
    Bit("ISR", "AP_READY", 1, "ap_ready interrupt (toggle on write)"),
    Bit("STATUS", "TLAST_EARLY", 0, "TLAST before an image's last beat"),
    Bit("STATUS", "TLAST_MISSING", 1, "no TLAST on an image's last beat"),
    Bit("STATUS", "BAD_TIMESTEPS", 2, "TIMESTEPS out of range, nothing ran"),
]


def bit(register: str, name: str) -> Bit:
    return next(b for b in BITS if (b.register, b.name) == (register, name))


def register_bits(register: str) -> list[Bit]:
    return [b for b in BITS if b.register == register]


def _flags(register: str, before: str = "") -> str:
    """A register's description from its bits: 'bit 0 ap_start (W1S), bit 1 ...'."""
    return before + ", ".join(f"bit {b.position} {b.meaning}" for b in register_bits(register))


CONTROL_REGISTERS = [
    Register("CTRL", 0x00, "rw", _flags("CTRL")),
    Register("GIE", 0x04, "rw", _flags("GIE")),
    Register("IER", 0x08, "rw", _flags("IER")),
    Register("ISR", 0x0C, "rw", _flags("ISR")),
]
CORE_REGISTERS = [
    Register("TIMESTEPS", 0x10, "rw", "timesteps T per image, 1 .. MAX_TIMESTEPS"),
    Register("N_IMAGES", 0x18, "rw", "images per ap_start, >= 1"),
    Register("BUILD_ID", 0x20, "ro", "fingerprint of the network the core was built from"),
    Register(
        "CYCLES",
        0x28,
        "ro",
        "clock cycles from ap_start to ap_done of the last run (saturates at 2^32 - 1)",
    ),
    Register(
        "STATUS",
        0x30,
        "ro",
        _flags("STATUS", "error flags of the last run (cleared by ap_start): "),
    ),
    Register("MAX_TIMESTEPS", 0x38, "ro", "the largest TIMESTEPS the core accepts"),
]
SAT_BASE = 0x40
REGISTER_STRIDE = 8  # Vitis HLS spacing: each 32-bit argument takes 8 bytes

STATUS_TLAST_EARLY = bit("STATUS", "TLAST_EARLY").mask
STATUS_TLAST_MISSING = bit("STATUS", "TLAST_MISSING").mask
STATUS_BAD_TIMESTEPS = bit("STATUS", "BAD_TIMESTEPS").mask
AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = (
    b.mask for b in register_bits("CTRL")
)


def saturation_registers(net: Network) -> list[Register]:
    """One read-only counter per neuron layer, after the fixed registers."""
    return [
        Register(
            f"SAT_{i}",
            SAT_BASE + REGISTER_STRIDE * i,
            "ro",
            f"membrane saturation events in layer {i} ('{layer.name}') during the last run "
            "(saturates at 2^32 - 1)",
        )
        for i, layer in enumerate(net.neuron_layers)
    ]


def register_map(net: Network) -> list[Register]:
    return [*CONTROL_REGISTERS, *CORE_REGISTERS, *saturation_registers(net)]


def register_offsets(net: Network) -> dict[str, int]:
    return {reg.name: reg.offset for reg in register_map(net)}


def register_table_markdown(registers: list[Register]) -> str:
    lines = ["| offset | name | access | meaning |", "|---|---|---|---|"]
    lines += [f"| 0x{r.offset:02X} | {r.name} | {r.access} | {r.description} |" for r in registers]
    return "\n".join(lines) + "\n"


# --- streams ---------------------------------------------------------------------------


def elements_per_beat(element_bits: int = 8) -> int:
    """Input elements in one in_r beat: 4 of 8 bits, 2 of 16."""
    return STREAM_BITS // element_bits


def beats_per_image(input_shape: tuple[int, ...], element_bits: int = 8) -> int:
    return -(-int(np.prod(input_shape)) // elements_per_beat(element_bits))


def pack_images(images: np.ndarray, element_bits: int = 8) -> np.ndarray:
    """(N, *input_shape) input integers -> (N, beats) uint32 in_r words: the elements in
    row-major order, ``element_bits`` each (two's complement when negative), the first in
    the low bits; the last beat of an image is zero-padded and carries TLAST."""
    n, per = len(images), elements_per_beat(element_bits)
    flat = images.reshape(n, -1).astype(np.int64) & ((1 << element_bits) - 1)
    beats = -(-flat.shape[1] // per)
    padded = np.zeros((n, beats * per), dtype=np.int64)
    padded[:, : flat.shape[1]] = flat
    shifts = np.arange(per, dtype=np.int64) * element_bits
    return (padded.reshape(n, beats, per) << shifts).sum(axis=2).astype(np.uint32)


def unpack_images(
    words: np.ndarray, input_shape: tuple[int, ...], element_bits: int = 8, signed: bool = False
) -> np.ndarray:
    """The inverse of :func:`pack_images`: (N, beats) in_r words -> (N, *input_shape) int64."""
    words = np.asarray(words, dtype=np.int64).reshape(len(words), -1)
    per, mask = elements_per_beat(element_bits), (1 << element_bits) - 1
    shifts = np.arange(per, dtype=np.int64) * element_bits
    values = ((words[:, :, None] >> shifts) & mask).reshape(len(words), -1)
    values = values[:, : int(np.prod(input_shape))]
    if signed:
        values = np.where(values >= 1 << (element_bits - 1), values - (1 << element_bits), values)
    return values.reshape(len(words), *input_shape)


def output_words(counts: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(N, K) counts and (N,) classes -> (N, K + 1) uint32 out_r words (TLAST on the last)."""
    return np.concatenate([counts, classes[:, None]], axis=1).astype(np.uint32)


def unpack_outputs(words: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """out_r words (flat or (N, K + 1)) -> (counts (N, K), classes (N,))."""
    words = np.asarray(words, dtype=np.uint32).reshape(-1, num_classes + 1)
    return words[:, :num_classes].astype(np.int64), words[:, num_classes].astype(np.int64)
