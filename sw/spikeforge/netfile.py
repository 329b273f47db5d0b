"""Saving and loading a spiking network as JSON + NPZ (numpy only, loads on a PYNQ board)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .ir import Formats, Network, NeuronLayer, PoolGate, SnnConfig

FORMAT_VERSION = 1


class NetworkFileError(UserError):
    """A saved network is missing, corrupt, or from an incompatible version."""


def _layer_meta(layer: NeuronLayer | PoolGate) -> dict[str, Any]:
    if isinstance(layer, NeuronLayer):
        return {
            "type": "neuron",
            "name": layer.name,
            "kind": layer.kind,
            "in_shape": list(layer.in_shape),
            "out_shape": list(layer.out_shape),
            "strides": list(layer.strides),
            "pads": list(layer.pads),
            "scale": layer.scale,
        }
    return {
        "type": "pool_gate",
        "name": layer.name,
        "in_shape": list(layer.in_shape),
        "out_shape": list(layer.out_shape),
        "pool": list(layer.pool),
        "strides": list(layer.strides),
        "pads": list(layer.pads),
    }


def network_to_dict(net: Network) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata (JSON-able) and arrays of a network."""
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(net.layers):
        if isinstance(layer, NeuronLayer):
            arrays[f"{i}.weights"] = layer.weights
            arrays[f"{i}.bias"] = layer.bias
            arrays[f"{i}.threshold"] = layer.threshold
    meta = {
        "format_version": FORMAT_VERSION,
        "name": net.name,
        "input_shape": list(net.input_shape),
        "config": dataclasses.asdict(net.config),
        "formats": dataclasses.asdict(net.formats) if net.formats else None,
        "layers": [_layer_meta(layer) for layer in net.layers],
    }
    return meta, arrays


def build_id(net: Network) -> int:
    """A 32-bit fingerprint of everything the hardware is built from (shapes, params, widths).

    T, the seed and the reset/input modes the hardware is built with are part of it; the
    run-time T is not (it is a register).
    """
    meta, arrays = network_to_dict(net)
    meta = dict(meta, config={k: v for k, v in meta["config"].items() if k != "timesteps"})
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for key in sorted(arrays):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(arrays[key]).astype("<i8" if net.is_integer else "<f8"))
    return int.from_bytes(digest.digest()[:4], "little")


def save_network(net: Network, stem: Path) -> None:
    """Write ``stem.json`` and ``stem.npz``."""
    meta, arrays = network_to_dict(net)
    meta["build_id"] = build_id(net)
    stem.parent.mkdir(parents=True, exist_ok=True)
    np.savez(stem.with_suffix(".npz"), **arrays)
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def check_formats(net: Network) -> None:
    """Raise unless every weight, bias and threshold fits the network's own word widths."""
    assert net.formats is not None
    fmt = net.formats
    for layer in net.neuron_layers:
        for what, values, low, high in (
            (
                "weight",
                layer.weights,
                -(1 << (fmt.weight_bits - 1)),
                (1 << (fmt.weight_bits - 1)) - 1,
            ),
            ("bias", layer.bias, -(1 << (fmt.bias_bits - 1)), (1 << (fmt.bias_bits - 1)) - 1),
            ("threshold", layer.threshold, 1, (1 << fmt.threshold_bits) - 1),
        ):
            if values.size and (values.min() < low or values.max() > high):
                raise NetworkFileError(
                    f"layer '{layer.name}': a {what} outside {low}..{high} does not fit the "
                    "network's formats; the file was edited or written by a faulty tool"
                )


def load_network(stem: Path) -> Network:
    """Read a network written by :func:`save_network`."""
    json_path, npz_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
    for path in (json_path, npz_path):
        if not path.is_file():
            raise NetworkFileError(f"{path} is missing; run `spikeforge convert` to create it")
    try:
        meta = json.loads(json_path.read_text())
        with np.load(npz_path) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError) as err:
        raise NetworkFileError(f"{stem}: cannot read the network files ({err})") from err
    if meta.get("format_version") != FORMAT_VERSION:
        raise NetworkFileError(
            f"{json_path} has format version {meta.get('format_version')}, this spikeforge "
            f"reads {FORMAT_VERSION}; convert the model again"
        )
    layers: list[NeuronLayer | PoolGate] = []
    for i, entry in enumerate(meta["layers"]):
        if entry["type"] == "neuron":
            layers.append(
                NeuronLayer(
                    name=entry["name"],
                    kind=entry["kind"],
                    in_shape=tuple(entry["in_shape"]),
                    out_shape=tuple(entry["out_shape"]),
                    weights=arrays[f"{i}.weights"],
                    bias=arrays[f"{i}.bias"],
                    threshold=arrays[f"{i}.threshold"],
                    strides=tuple(entry["strides"]),
                    pads=tuple(entry["pads"]),
                    scale=entry["scale"],
                )
            )
        else:
            layers.append(
                PoolGate(
                    name=entry["name"],
                    in_shape=tuple(entry["in_shape"]),
                    out_shape=tuple(entry["out_shape"]),
                    pool=tuple(entry["pool"]),
                    strides=tuple(entry["strides"]),
                    pads=tuple(entry["pads"]),
                )
            )
    net = Network(
        name=meta["name"],
        input_shape=tuple(meta["input_shape"]),
        layers=layers,
        config=SnnConfig(**meta["config"]),
        formats=Formats(**meta["formats"]) if meta["formats"] else None,
    )
    if net.formats is not None:
        check_formats(net)
    stored_id = meta.get("build_id")
    if stored_id is not None and stored_id != build_id(net):
        raise NetworkFileError(
            f"{stem}: build id {stored_id:#010x} in the JSON does not match the arrays "
            f"({build_id(net):#010x}); the files were edited or mixed from two conversions"
        )
    return net
