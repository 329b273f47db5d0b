"""Saving and loading a spiking network as JSON + NPZ (numpy only, loads on a PYNQ board).

``stem.json`` holds the metadata (shapes, input format, run modes, word widths, build id),
``stem.npz`` one array per neuron layer and role (``"{i}.weights"``, ``"{i}.bias"``,
``"{i}.threshold"``, and ``"{i}.v_init"`` for a layer with its own initial membranes,
marked ``"v_init": true`` in its JSON entry). Loading validates everything it reads: the
JSON schema (every field, its type and range), each array's presence, shape, dtype and
values against the JSON, the layer chain, and the build id against the arrays; any failure
is a :class:`NetworkFileError` naming the file and the field. Arrays load as int64
(integer network) or float64 (float SNN) whatever integer or floating dtype the file
stores: a network is its values, which is also what the build id hashes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .ir import (
    Formats,
    InputFormat,
    Network,
    NeuronLayer,
    PoolGate,
    conv_output_size,
)
from .netfile_schema import FORMAT_VERSION, NETWORK_SCHEMA, SchemaProblem, field_name

ROLES = ("weights", "bias", "threshold")
FIX = (
    "the file is corrupt, was edited or comes from another spikeforge version; "
    "convert the model again (`spikeforge convert`)"
)


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
        } | ({"v_init": True} if layer.v_init is not None else {})
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
            if layer.v_init is not None:
                arrays[f"{i}.v_init"] = layer.v_init
    meta = {
        "format_version": FORMAT_VERSION,
        "name": net.name,
        "input_shape": list(net.input_shape),
        "input_format": dataclasses.asdict(net.input_format),
        "config": dataclasses.asdict(net.config),
        "formats": dataclasses.asdict(net.formats) if net.formats else None,
        "layers": [_layer_meta(layer) for layer in net.layers],
    }
    return meta, arrays


def build_id(net: Network) -> int:
    """A 32-bit fingerprint of everything the hardware is built from (shapes, params, widths).

    T, the seed and the reset/input modes the hardware is built with are part of it; the
    run-time T is not (it is a register). So is the input format, except the default uint8
    pixels: a pixel network keeps the id it had before networks had input formats.
    """
    meta, arrays = network_to_dict(net)
    meta = dict(meta, config={k: v for k, v in meta["config"].items() if k != "timesteps"})
    if net.input_format == InputFormat():
        del meta["input_format"]
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


# role: what one value is called, the Formats field of its width, and whether it is signed
_ROLE_FORMATS = {
    "weights": ("weight", "weight_bits", True),
    "bias": ("bias", "bias_bits", True),
    "threshold": ("threshold", "threshold_bits", False),  # 1 .. 2**threshold_bits - 1
}


def value_range(role: str, fmt: Formats) -> tuple[int, int]:
    """The integers a weight, bias or threshold (``role``) of ``fmt`` can hold."""
    _noun, field, signed = _ROLE_FORMATS[role]
    bits = getattr(fmt, field)
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (1, (1 << bits) - 1)


def _range_problem(role: str, values: np.ndarray, fmt: Formats) -> str | None:
    low, high = value_range(role, fmt)
    if values.size and (values.min() < low or values.max() > high):
        noun, field, _signed = _ROLE_FORMATS[role]
        return f"has a {noun} outside {low}..{high} ({field}={getattr(fmt, field)})"
    return None


# ---------------------------------------------------------------------------------------
# The arrays, and the layer chain they and the JSON describe
# ---------------------------------------------------------------------------------------


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``np.savez`` file, CRC-checked first, read without pickles."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
        if bad is not None:
            raise ValueError(f"member {bad!r} fails its CRC check")
        for info in archive.infolist():
            key = info.filename.removesuffix(".npy")
            if key == info.filename or key in arrays:
                raise ValueError(f"unexpected member {info.filename!r}")
            with archive.open(info) as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def _check_arrays(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], npz_path: Path
) -> dict[str, np.ndarray]:
    """Every array the JSON implies, of the right kind and values; loaded as int64/float64."""
    fmt = meta["formats"]
    wanted = [
        f"{i}.{role}"
        for i, entry in enumerate(meta["layers"])
        if entry["type"] == "neuron"
        for role in (*ROLES, "v_init") if role in ROLES or entry.get("v_init")
    ]
    extra = sorted(set(arrays) - set(wanted))
    loaded = {}
    for key in extra + wanted:
        role, array, problem = key.rpartition(".")[2], arrays.get(key), None
        if key in extra:
            problem = "is not part of the network the JSON describes"
        elif array is None:
            problem = "is missing"
        elif array.dtype.kind not in ("iu" if fmt else "f"):
            what = "an integer network stores integers" if fmt else "a float SNN stores floats"
            problem = f"has dtype {array.dtype}, but {what}"
        elif array.size == 0:
            problem = "is empty"
        elif fmt and role == "v_init":
            low, high = fmt.membrane_min, fmt.membrane_max
            if array.min() < low or array.max() > high:
                problem = (f"has an initial membrane outside the membrane range {low}..{high} "
                           f"(membrane_bits={fmt.membrane_bits})")
        elif fmt:
            problem = _range_problem(role, array, fmt)
        elif not np.isfinite(array).all():
            problem = "holds a NaN or an infinity"
        elif role == "threshold" and (array <= 0).any():
            problem = "holds a threshold <= 0"
        if problem:
            raise NetworkFileError(f"{npz_path}: array '{key}' {problem}: {FIX}")
        loaded[key] = array.astype(np.int64 if fmt else np.float64)
    return loaded


def _window(shape: tuple[int, ...], window: tuple[int, ...], entry: dict[str, Any]) -> tuple:
    """(H, W) of ``shape`` after a convolution or pooling window of ``entry``."""
    strides, pads = entry["strides"], entry["pads"]
    return tuple(
        conv_output_size(shape[a], window[a], strides[a], pads[2 * a], pads[2 * a + 1])
        for a in (0, 1)
    )


def _expected(
    entry: dict[str, Any], previous: tuple[int, ...], weights: tuple[int, ...]
) -> Iterator[tuple[str, Any]]:
    """(field, what it must be) for one layer after ``previous``, in the order to check."""
    out = entry["out_shape"]
    if entry.get("kind") == "dense":
        yield "in_shape", (math.prod(previous),)
        yield "out_shape", (out[-1],)
        yield "weights", (math.prod(previous), out[-1])
        return
    yield "in_shape", previous
    if entry["type"] == "pool_gate":
        yield "out_shape", (*_window(previous, entry["pool"], entry), previous[2])
        return
    cin_cout = (previous[2], out[-1])
    yield "weights", (*weights[:2], *cin_cout) if len(weights) == 4 else ("kh", "kw", *cin_cout)
    yield "out_shape", (*_window(previous, weights, entry), out[-1])


def _check_ends(layers: list[dict[str, Any]], json_path: Path) -> None:
    """The first layer is a neuron layer, the last a dense one (docs/spec.md)."""
    for i, wanted, ok in (
        (0, "a neuron layer", layers[0]["type"] == "neuron"),
        (len(layers) - 1, "a dense neuron layer (the classes)", layers[-1].get("kind") == "dense"),
    ):
        if not ok:
            raise NetworkFileError(f"{json_path}: layers[{i}] must be {wanted}: {FIX}")


def _check_chain(meta: dict[str, Any], arrays: dict[str, np.ndarray], stem: Path) -> None:
    """Each layer's shapes follow from its predecessor's and its own weights."""
    json_name, npz_name = stem.with_suffix(".json"), stem.with_suffix(".npz")
    previous: tuple[int, ...] = meta["input_shape"]
    for i, entry in enumerate(meta["layers"]):
        # the first layer reads the input's elements in row-major order as its own shape:
        # (28, 28) images as (28, 28, 1), (L, C) sequences as (1, L, C)
        first_window = i == 0 and entry.get("kind") != "dense"
        if first_window and math.prod(entry["in_shape"]) == math.prod(previous):
            previous = entry["in_shape"]
        if entry.get("kind") != "dense" and len(previous) != 3:
            raise NetworkFileError(
                f"{json_name}: layers[{i}] is a convolution or pool gate after the shape "
                f"{list(previous)}, but it needs an (H, W, C) input: {FIX}"
            )
        shapes = {r: arrays[f"{i}.{r}"].shape for r in ROLES} if entry["type"] == "neuron" else {}
        for field, expected in _expected(entry, previous, shapes.get("weights", ())):
            actual = shapes[field] if field in shapes else entry[field]
            if actual != expected:
                where = (
                    f"{npz_name}: array '{i}.{field}' has shape"
                    if field in shapes
                    else f"{json_name}: layers[{i}].{field} is"
                )
                raise NetworkFileError(
                    f"{where} {list(actual)}, but {_listed(expected)} follows from the layers "
                    f"before it and its weights: {FIX}"
                )
        if entry["type"] == "neuron" and entry.get("v_init"):
            shapes["v_init"] = arrays[f"{i}.v_init"].shape
        for role in ("bias", "threshold", "v_init"):
            if role in shapes and shapes[role] != (entry["out_shape"][-1],):
                raise NetworkFileError(
                    f"{npz_name}: array '{i}.{role}' has shape {list(shapes[role])}, but "
                    f"layers[{i}].out_shape has {entry['out_shape'][-1]} channels: {FIX}"
                )
        previous = entry["out_shape"]


def _listed(shape: Any) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _network(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Network:
    layers: list[NeuronLayer | PoolGate] = []
    for i, entry in enumerate(meta["layers"]):
        fields = {k: v for k, v in entry.items() if k not in ("type", "v_init")}
        if entry["type"] == "neuron":
            v_init = arrays[f"{i}.v_init"] if entry.get("v_init") else None
            layers.append(
                NeuronLayer(**fields, **{r: arrays[f"{i}.{r}"] for r in ROLES}, v_init=v_init)
            )
        else:
            layers.append(PoolGate(**fields))
    return Network(
        meta["name"],
        meta["input_shape"],
        layers,
        meta["config"],
        meta["formats"],
        meta["input_format"],
    )


def load_network(stem: Path) -> Network:
    """Read a network written by :func:`save_network`, refusing anything inconsistent."""
    json_path, npz_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
    for path in (json_path, npz_path):
        if not path.is_file():
            raise NetworkFileError(f"{path} is missing; run `spikeforge convert` to create it")
    try:
        raw = json.loads(json_path.read_text(encoding="utf-8"))
        if isinstance(raw, dict):  # files from before input formats hold uint8 pixels
            raw.setdefault("input_format", dataclasses.asdict(InputFormat()))
        meta = NETWORK_SCHEMA(raw)
    except (ValueError, OSError, RecursionError) as err:  # ValueError: bad JSON or UTF-8
        raise NetworkFileError(f"{json_path}: cannot read the JSON ({err}): {FIX}") from err
    except SchemaProblem as err:
        raise NetworkFileError(
            f"{json_path}: {field_name(err.field)} {err.problem}: {FIX}"
        ) from None
    try:
        stored = _read_npz(npz_path)
    except Exception as err:  # zipfile and numpy raise many kinds on a damaged archive
        raise NetworkFileError(
            f"{npz_path}: cannot read the arrays ({type(err).__name__}: {err}): {FIX}"
        ) from err
    _check_ends(meta["layers"], json_path)
    arrays = _check_arrays(meta, stored, npz_path)
    _check_chain(meta, arrays, stem)
    try:
        net = _network(meta, arrays)
    except ValueError as err:  # Network's own checks across fields (config and input)
        raise NetworkFileError(f"{json_path}: {err}: {FIX}") from None
    if build_id(net) != meta["build_id"]:
        raise NetworkFileError(
            f"{json_path}: build_id {meta['build_id']:#010x} is not the build id of the network "
            f"the files describe ({build_id(net):#010x}): they were edited or mixed from two "
            "conversions; convert the model again (`spikeforge convert`)"
        )
    return net
