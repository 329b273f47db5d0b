"""The C testbench's files: in_r beats in, out_r beats and registers out (little-endian).

Formats are documented in ``hls/include/spikeforge/testbench.h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract import output_words, pack_images
from ..errors import UserError

VERSION = 1


class VectorFileError(UserError):
    """A testbench file is missing or malformed."""


@dataclass
class Beats:
    data: np.ndarray  # uint32
    last: np.ndarray  # bool

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.uint32).reshape(-1)
        self.last = np.asarray(self.last, dtype=bool).reshape(-1)
        if self.data.shape != self.last.shape:
            raise ValueError(f"{self.data.size} data words but {self.last.size} TLAST flags")


def image_beats(images: np.ndarray, element_bits: int = 8) -> Beats:
    """in_r beats of well-formed inputs (``element_bits`` each, as the network's input
    format says): TLAST on each input's last beat."""
    words = pack_images(images, element_bits)
    last = np.zeros(words.shape, dtype=bool)
    last[:, -1] = True
    return Beats(words, last)


def expected_beats(counts: np.ndarray, classes: np.ndarray) -> Beats:
    """out_r beats of the golden model's results: TLAST on each class beat."""
    words = output_words(counts, classes)
    last = np.zeros(words.shape, dtype=bool)
    last[:, -1] = True
    return Beats(words, last)


def _header(magic: bytes, beats: Beats) -> bytes:
    return (
        magic
        + np.array([VERSION, beats.data.size], dtype="<u4").tobytes()
        + beats.data.astype("<u4").tobytes()
        + beats.last.astype(np.uint8).tobytes()
    )


def write_input(path: Path, beats: Beats) -> None:
    path.write_bytes(_header(b"SFIN", beats))


def write_output(path: Path, beats: Beats, registers: list[int]) -> None:
    """An expected-output file of one run (the testbench compares every beat and register
    but CYCLES)."""
    regs = np.array(registers, dtype="<u4")
    path.write_bytes(
        _header(b"SFOU", beats) + np.array([1, regs.size], dtype="<u4").tobytes() + regs.tobytes()
    )


def read_output(path: Path) -> tuple[Beats, np.ndarray]:
    """The testbench's output: out_r beats and the (runs, registers) after each run."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise VectorFileError(f"cannot read the testbench output {path}: {err}") from err
    if raw[:4] != b"SFOU":
        raise VectorFileError(f"{path} is not a testbench output file")
    version, n = np.frombuffer(raw, "<u4", 2, 4)
    if version != VERSION:
        raise VectorFileError(f"{path}: version {version}, expected {VERSION}")
    offset = 12
    data = np.frombuffer(raw, "<u4", n, offset)
    offset += 4 * int(n)
    last = np.frombuffer(raw, np.uint8, n, offset).astype(bool)
    offset += int(n)
    runs, count = (int(v) for v in np.frombuffer(raw, "<u4", 2, offset))
    regs = np.frombuffer(raw, "<u4", runs * count, offset + 8).astype(np.int64)
    return Beats(data.copy(), last), regs.reshape(runs, count)


def read_trace(path: Path) -> dict[tuple[int, int], int]:
    """Loop iterations per (stage, loop kind) from the testbench's trace file."""
    counts: dict[tuple[int, int], int] = {}
    for line in path.read_text().split("\n"):
        if line.strip():
            stage, loop, value = (int(v) for v in line.split())
            counts[(stage, loop)] = value
    return counts
