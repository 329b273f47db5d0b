"""The register map and stream packing of the hardware contract."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from netgen import random_network
from spikeforge import contract

DOC = Path(__file__).resolve().parents[1] / "docs" / "hardware-contract.md"


def test_documented_register_table_is_the_generated_one():
    table = contract.register_table_markdown(
        [*contract.CONTROL_REGISTERS, *contract.CORE_REGISTERS]
    )
    assert table in DOC.read_text()


def test_register_offsets_are_unique_aligned_and_follow_vitis_layout():
    net = random_network(5)
    registers = contract.register_map(net)
    offsets = [r.offset for r in registers]
    assert len(set(offsets)) == len(offsets)
    assert all(o % 4 == 0 for o in offsets)
    core = [r.offset for r in registers if r.offset >= 0x10]
    assert core == sorted(core) and all(b - a == 8 for a, b in itertools.pairwise(core))
    assert [r.name for r in contract.saturation_registers(net)] == [
        f"SAT_{i}" for i in range(len(net.neuron_layers))
    ]


def test_pack_images_puts_the_first_pixel_in_the_low_byte():
    images = np.arange(2 * 3 * 3 * 1, dtype=np.uint8).reshape(2, 3, 3, 1)
    words = contract.pack_images(images)
    assert words.shape == (2, 3) and contract.beats_per_image((3, 3, 1)) == 3
    assert words[0, 0] == 0x03020100 and words[0, 2] == 0x00000008  # zero-padded last beat
    assert words[1, 0] == 0x0C0B0A09


def test_output_words_round_trip():
    counts = np.array([[1, 2, 3], [4, 5, 6]])
    classes = np.array([2, 0])
    words = contract.output_words(counts, classes)
    back_counts, back_classes = contract.unpack_outputs(words.ravel(), 3)
    np.testing.assert_array_equal(back_counts, counts)
    np.testing.assert_array_equal(back_classes, classes)
