"""Saved networks round-trip exactly; corrupt or mismatched files are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netgen import random_images, random_network
from spikeforge.netfile import NetworkFileError, build_id, load_network, save_network
from spikeforge.simulator import simulate


@pytest.mark.parametrize("seed", range(10))
def test_round_trip_is_exact(tmp_path, seed):
    net = random_network(seed)
    save_network(net, tmp_path / "net")
    loaded = load_network(tmp_path / "net")
    assert build_id(loaded) == build_id(net)
    images = random_images(seed, net, 8)
    a, b = simulate(net, images), simulate(loaded, images)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.saturation, b.saturation)


def test_build_id_tracks_weights_and_modes_not_default_t():
    net = random_network(1)
    base = build_id(net)
    net.neuron_layers[0].weights[(0,) * net.neuron_layers[0].weights.ndim] += 1
    assert build_id(net) != base
    other = random_network(1)
    from dataclasses import replace

    assert build_id(replace(other, config=replace(other.config, reset="zero" if
                    other.config.reset == "subtract" else "subtract"))) != build_id(other)
    assert build_id(replace(other, config=replace(other.config, timesteps=1))) == build_id(other)


def test_missing_and_tampered_files_are_refused(tmp_path):
    with pytest.raises(NetworkFileError, match=r"missing; run `spikeforge convert`"):
        load_network(tmp_path / "absent")
    net = random_network(2)
    save_network(net, tmp_path / "net")
    meta = json.loads((tmp_path / "net.json").read_text())
    meta["config"]["seed"] = 8 if meta["config"]["seed"] == 7 else 7  # valid, but not built so
    (tmp_path / "net.json").write_text(json.dumps(meta))
    with pytest.raises(NetworkFileError, match="build id"):
        load_network(tmp_path / "net")
    (tmp_path / "net.npz").write_bytes(b"not a zip")
    with pytest.raises(NetworkFileError, match="cannot read"):
        load_network(tmp_path / "net")


def test_values_outside_the_formats_are_refused(tmp_path):
    net = random_network(4)
    net.neuron_layers[0].weights[(0,) * net.neuron_layers[0].weights.ndim] = 1 << 20
    save_network(net, tmp_path / "net")
    with pytest.raises(NetworkFileError, match=r"weight outside -\d+\.\.\d+"):
        load_network(tmp_path / "net")
