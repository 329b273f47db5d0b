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


def _with_initial_membranes(seed: int):
    """A random network whose first neuron layer has its own initial membranes."""
    net = random_network(seed)
    layer = net.neuron_layers[0]
    layer.v_init = (layer.threshold * np.linspace(-1, 1, layer.channels)).astype(np.int64)
    return net


@pytest.mark.parametrize("seed", range(3))
def test_initial_membranes_round_trip(tmp_path, seed):
    net = _with_initial_membranes(seed)
    save_network(net, tmp_path / "net")
    meta = json.loads((tmp_path / "net.json").read_text())
    entries = [e for e in meta["layers"] if e["type"] == "neuron"]
    assert entries[0]["v_init"] is True
    own = [la.v_init is not None for la in net.neuron_layers]
    assert [e.get("v_init", False) for e in entries] == own
    loaded = load_network(tmp_path / "net")
    assert build_id(loaded) == build_id(net)
    for a, b in zip(net.neuron_layers, loaded.neuron_layers, strict=True):
        assert (a.v_init is None) == (b.v_init is None)
        if a.v_init is not None:
            np.testing.assert_array_equal(a.v_init, b.v_init)
    images = random_images(seed, net, 8)
    np.testing.assert_array_equal(simulate(net, images).counts, simulate(loaded, images).counts)


def test_a_network_without_initial_membranes_keeps_its_file_and_build_id(tmp_path):
    # no "v_init" key, no array: the file (and the id) of a network from before
    net = random_network(5)
    for layer in net.neuron_layers:
        layer.v_init = None
    save_network(net, tmp_path / "net")
    meta = json.loads((tmp_path / "net.json").read_text())
    assert all("v_init" not in e for e in meta["layers"])
    assert sorted(np.load(tmp_path / "net.npz").files) == sorted(
        f"{i}.{r}" for i, la in enumerate(net.layers) if hasattr(la, "threshold")
        for r in ("weights", "bias", "threshold"))
    assert build_id(load_network(tmp_path / "net")) == build_id(net)


def _rewrite_npz(path, change):
    arrays = dict(np.load(path))
    change(arrays)
    np.savez(path, **arrays)


def test_initial_membranes_outside_the_membrane_range_are_refused(tmp_path):
    net = _with_initial_membranes(1)
    save_network(net, tmp_path / "net")
    index = net.layers.index(net.neuron_layers[0])
    top = net.formats.membrane_max

    def too_high(arrays):
        arrays[f"{index}.v_init"][0] = top + 1

    _rewrite_npz(tmp_path / "net.npz", too_high)
    with pytest.raises(NetworkFileError, match=rf"'{index}.v_init' has an initial membrane "
                       rf"outside the membrane range -\d+\.\.{top}"):
        load_network(tmp_path / "net")


def test_initial_membranes_and_the_json_must_agree(tmp_path):
    net = _with_initial_membranes(2)
    save_network(net, tmp_path / "net")
    index = net.layers.index(net.neuron_layers[0])
    _rewrite_npz(tmp_path / "net.npz", lambda arrays: arrays.pop(f"{index}.v_init"))
    with pytest.raises(NetworkFileError, match=rf"'{index}.v_init' is missing"):
        load_network(tmp_path / "net")
    save_network(net, tmp_path / "net")
    meta = json.loads((tmp_path / "net.json").read_text())
    del meta["layers"][index]["v_init"]
    (tmp_path / "net.json").write_text(json.dumps(meta))
    with pytest.raises(NetworkFileError, match="is not part of the network the JSON describes"):
        load_network(tmp_path / "net")
    meta["layers"][index]["v_init"] = False
    (tmp_path / "net.json").write_text(json.dumps(meta))
    with pytest.raises(NetworkFileError, match=r"v_init must be true \(or left out\)"):
        load_network(tmp_path / "net")

    def wrong_shape(arrays):
        arrays[f"{index}.v_init"] = np.zeros(arrays[f"{index}.threshold"].size + 1, np.int64)

    save_network(net, tmp_path / "net")
    _rewrite_npz(tmp_path / "net.npz", wrong_shape)
    with pytest.raises(NetworkFileError, match=rf"'{index}.v_init' has shape"):
        load_network(tmp_path / "net")
