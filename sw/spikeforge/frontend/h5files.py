"""Keras HDF5 files read with h5py alone (no Keras, no TensorFlow).

Two layouts hold weights by layer name (the one hls4ml reads too):

* a weights file (``model.save_weights('w.h5')`` in Keras 2): the root group has a
  ``layer_names`` attribute, and each layer's group a ``weight_names`` attribute listing
  dataset paths such as ``conv2d/kernel:0``;
* a full model file (``model.save('m.h5')``, Keras 2, or Keras 3's legacy H5): the same
  under a ``model_weights`` group, with the architecture JSON in the ``model_config``
  attribute. Keras 3 writes weight paths such as ``model/conv2d/kernel``.

Keras 3's own ``.weights.h5`` (``layers/<name>/vars/0``) stores weights by position, not
name; :func:`h5_kind` tells it apart so that it is read through Keras.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import ModelFileError

H5Kind = Literal["model", "weights", "keras3-weights"]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _open(path: Path):
    import h5py

    if not Path(path).is_file():
        raise ModelFileError(f"{path} does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ModelFileError(f"{path} is not an HDF5 file ({err})") from err


def h5_kind(path: Path) -> H5Kind:
    """Which Keras HDF5 layout ``path`` holds."""
    with _open(path) as h5:
        if "model_config" in h5.attrs:
            return "model"
        if "layer_names" in h5.attrs:
            return "weights"
        if "layers" in h5 or "vars" in h5:
            return "keras3-weights"
    raise ModelFileError(
        f"{path} is an HDF5 file but not a Keras model or weights file (it has no "
        "'model_config' or 'layer_names' attribute)"
    )


def read_model_config(path: Path) -> dict[str, Any]:
    """The architecture JSON stored in a full-model H5 file (with the file's
    ``keras_version`` where the JSON has none)."""
    with _open(path) as h5:
        if "model_config" not in h5.attrs:
            raise ModelFileError(
                f"{path} holds weights only (no architecture): pass the architecture JSON as "
                f"the model and this file with --weights"
            )
        arch = json.loads(_text(h5.attrs["model_config"]))
        if "keras_version" in h5.attrs:
            arch.setdefault("keras_version", _text(h5.attrs["keras_version"]))
        return arch


def read_weights(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Weights by layer name, then by variable name (``kernel``, ``bias``, ``gamma``, ...)."""
    with _open(path) as h5:
        group = h5.get("model_weights", h5)
        if "layer_names" not in group.attrs:
            raise ModelFileError(
                f"{path} has no 'layer_names' attribute: it is not a Keras 2 weights file "
                "(Keras 3 '.weights.h5' files are read with their JSON through Keras)"
            )
        weights: dict[str, dict[str, np.ndarray]] = {}
        for layer_name in map(_text, group.attrs["layer_names"]):
            layer_group = group[layer_name]
            variables: dict[str, np.ndarray] = {}
            for weight_name in map(_text, layer_group.attrs.get("weight_names", [])):
                key = weight_name.split("/")[-1].split(":")[0]
                if key in variables:
                    raise ModelFileError(
                        f"{path}: layer '{layer_name}' has two weights named '{key}' (a "
                        "nested model?); save a flat model"
                    )
                variables[key] = np.asarray(layer_group[weight_name])
            weights[layer_name] = variables
        return weights


# --- Keras 3: the model.weights.h5 inside a .keras archive -------------------------------


def snake_case(class_name: str) -> str:
    """Keras 3's ``naming.to_snake_case``: the group name of a layer in model.weights.h5."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def _variables(group: Any) -> list[np.ndarray]:
    """The datasets ``0``, ``1``, ... of a ``vars`` group, in order."""
    keys = sorted((k for k in group if k.isdigit()), key=int)
    return [np.asarray(group[k]) for k in keys]


def _nested(group: Any, prefix: str = "") -> dict[str, list[np.ndarray]]:
    """Every ``vars`` group under ``group``, by its path ('' for the layer's own)."""
    found: dict[str, list[np.ndarray]] = {}
    for key, item in group.items():
        if not hasattr(item, "items"):
            continue
        if key == "vars":
            variables = _variables(item)
            if variables:
                found[prefix.rstrip("/")] = variables
        else:
            found.update(_nested(item, f"{prefix}{key}/"))
    return found


def read_keras3_archive_weights(
    data: bytes, layers: list[tuple[str, str]], source: str
) -> dict[str, dict[str, list[np.ndarray]]]:
    """The variables of each layer in a Keras 3 ``model.weights.h5`` (given as bytes), by
    layer name, then by path inside the layer ('' for its own variables, 'kq/quantizer' for
    a sub-layer's), each a list in the order the layer saved them.

    Keras 3 stores a model's layers as ``layers/<snake_case(class)>[_<n>]/vars/<i>`` in the
    order of ``model.layers`` (``n`` counts the earlier layers of the same class); recent
    versions also record the layer's name as the ``name`` attribute of its ``vars`` group,
    which is used where present. ``layers`` lists (name, class name) in that order.
    """
    import io

    import h5py

    try:
        h5 = h5py.File(io.BytesIO(data), "r")
    except OSError as err:
        raise ModelFileError(f"{source} is not an HDF5 file ({err})") from err
    with h5:
        root = h5.get("layers")
        if root is None:
            return {}
        by_name: dict[str, Any] = {}
        for group in root.values():
            own = group.get("vars")
            if own is not None and "name" in own.attrs:
                by_name[_text(own.attrs["name"])] = group
        weights: dict[str, dict[str, list[np.ndarray]]] = {}
        counts: dict[str, int] = {}
        for name, class_name in layers:
            base = snake_case(class_name.split(">")[-1])
            count = counts.get(base, -1) + 1
            counts[base] = count
            group = by_name.get(name)
            if group is None:  # no name recorded for it: where Keras puts it by position
                group = root.get(base if count == 0 else f"{base}_{count}")
                own = None if group is None else group.get("vars")
                if own is not None and "name" in own.attrs and _text(own.attrs["name"]) != name:
                    group = None  # that group is another layer's
            if group is not None:
                weights[name] = _nested(group)
        return weights
