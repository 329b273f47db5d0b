"""Where models come from: every source yields the same layer records.

* a live Keras 3 model, or a ``.keras`` file loaded by Keras 3;
* a Keras 2 (or QKeras) JSON architecture with its H5 weights file, read with h5py;
* a full-model H5 file (Keras 2, QKeras, or Keras 3's legacy ``model.save('m.h5')``),
  read with h5py;
* a Keras 3 JSON architecture with a Keras 3 ``.weights.h5`` file, loaded by Keras 3 (its
  weights are stored by position, which only Keras knows how to name).

Only Keras 3 models need Keras installed; Keras 2 and QKeras files never need Keras 2 or
QKeras.
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import tf_env  # noqa: F401  (before any keras import: silences TensorFlow's logs)
from ..errors import UnsupportedLayerError
from . import hgq_layers  # noqa: F401  (registers the HGQ2 layer handlers)
from .errors import ModelFileError
from .h5files import h5_kind, read_keras3_archive_weights, read_model_config, read_weights
from .layers import refuse_lambda
from .quantizers import MODEL_INPUT
from .topology import Architecture, LayerRecord, parse_architecture

KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")
JSON_SUFFIXES = (".json",)


def _with_weights(
    arch: Architecture, weights: dict[str, dict[str, np.ndarray]], source: str
) -> Architecture:
    for layer in arch.layers:
        layer.weights = weights.get(layer.name, {})
    arch.source = source
    return arch


def _variable_name(variable: Any) -> str:
    return str(variable.name).split("/")[-1].split(":")[0]


def records_from_keras(model: Any) -> Architecture:
    """The layer records of a built Keras 3 (or tf.keras) model object."""
    return _keras_records(model, lenient=False)[0]


def _keras_records(model: Any, lenient: bool) -> tuple[Architecture, str | None]:
    try:
        arch = {"class_name": type(model).__name__, "config": model.get_config()}
    except NotImplementedError as err:
        raise ModelFileError(
            f"model '{model.name}' cannot describe its architecture ({err}); build it as a "
            "Sequential or Functional model"
        ) from err
    parsed, problem = _parse(arch, lenient)
    weights = {}
    for layer in parsed.layers:
        keras_layer = model.get_layer(layer.name)
        weights[layer.name] = {
            _variable_name(v): np.asarray(value)
            for v, value in zip(keras_layer.weights, keras_layer.get_weights(), strict=True)
        }
    return _with_weights(parsed, weights, "Keras 3 model"), problem


_PLACEHOLDER = 32  # an unknown input dimension, for inspecting the layers after it


def _placeholder_input(arch: dict[str, Any]) -> dict[str, Any]:
    """``arch`` with every unknown input dimension set to a placeholder size."""
    arch = copy.deepcopy(arch)
    for entry in _layer_entries(arch):
        config = entry.get("config") or {}
        for key in ("batch_input_shape", "batch_shape"):
            if isinstance(config.get(key), list):
                shape = config[key]
                config[key] = shape[:1] + [_PLACEHOLDER if d is None else d for d in shape[1:]]
    return arch


def _parse(arch: dict[str, Any], lenient: bool) -> tuple[Architecture, str | None]:
    """The single path of ``arch``; when ``lenient``, a refused input shape does not stop
    the reading: the layers come with a placeholder (or no) input shape and the refusal."""
    try:
        return parse_architecture(arch), None
    except UnsupportedLayerError as err:
        if not lenient or err.layer is not None or "input shape" not in str(err):
            raise
        problem = str(err)
    try:
        return parse_architecture(_placeholder_input(arch)), problem
    except UnsupportedLayerError as err:
        if err.layer is not None or "input shape" not in str(err):
            raise
    config = arch.get("config") or {}
    entries = config if isinstance(config, list) else config.get("layers", [])
    records = [LayerRecord(str((e.get("config") or {}).get("name") or e.get("name")),
                           str(e.get("class_name")), e.get("config") or {})
               for e in entries if isinstance(e, dict) and e.get("class_name") != "InputLayer"]
    name = config.get("name", "model") if isinstance(config, dict) else "model"
    return Architecture(name, (), records), problem


def _brief(err: BaseException, limit: int = 300) -> str:
    """Keras's message in one short line, without the values of any variable it prints."""
    text = " ".join(re.sub(r", value=\[.*?\]>", ">", str(err), flags=re.S).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _layer_entries(config: Any) -> Iterator[dict[str, Any]]:
    """Every layer entry of a Keras model config, those of nested models too."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "layers" and isinstance(value, list):
                yield from (entry for entry in value if isinstance(entry, dict))
            yield from _layer_entries(value)
    elif isinstance(config, list):
        for item in config:
            yield from _layer_entries(item)


def _entry_name(entry: dict[str, Any]) -> str:
    return str((entry.get("config") or {}).get("name") or entry.get("name") or "?")


def _refuse_lambdas(config: dict[str, Any]) -> None:
    """Refuse a Lambda layer by name (Keras would refuse it as unsafe code, unnamed)."""
    for entry in _layer_entries(config):
        if entry.get("class_name") == "Lambda":
            raise refuse_lambda(_entry_name(entry))


def _missing_classes(config: dict[str, Any], err: BaseException) -> str | None:
    """'Scale (layer 'scale'), ...': the custom classes of ``config`` Keras cannot find."""
    import keras

    missing = []
    for entry in _layer_entries(config):
        if str(entry.get("module") or "").startswith("keras"):
            continue
        key = entry.get("registered_name") or entry.get("class_name")
        if keras.saving.get_registered_object(key) is None:
            missing.append(f"{entry.get('class_name')} (layer '{_entry_name(entry)}')")
    if not missing:
        located = re.findall(r"Could not locate (?:class|function) '([^']+)'", str(err))
        missing = list(dict.fromkeys(located))
    return ", ".join(missing) or None


def _custom_class_error(path: Path, config: dict[str, Any], err: BaseException
                        ) -> ModelFileError | None:
    if "Could not locate" not in str(err):
        return None
    missing = _missing_classes(config, err)
    if missing is None:
        return None
    return ModelFileError(
        f"{path} uses custom classes Keras cannot find: {missing}; spikeforge converts "
        "standard Keras layers only: replace them with standard layers and save the model again"
    )


def _keras_archive_config(path: Path) -> dict[str, Any]:
    """The ``config.json`` of a ``.keras`` archive, every member checked before Keras reads it."""
    fix = f"save the model again with model.save('{path.name}')"
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            names = archive.namelist()
            config = json.loads(archive.read("config.json")) if "config.json" in names else None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        state = "an empty file" if size == 0 else f"{size} bytes, truncated or corrupt"
        raise ModelFileError(f"{path} is not a readable Keras archive ({state}); {fix}") from None
    if damaged is not None:
        raise ModelFileError(
            f"{path} is not a readable Keras archive ({damaged} inside it is corrupt); {fix}"
        )
    if not isinstance(config, dict):
        raise ModelFileError(
            f"{path} is a zip file but not a Keras archive (no model config.json); {fix}"
        )
    return config


def load_keras_model(path: Path) -> Any:
    """Load a ``.keras`` (or Keras 3 legacy ``.h5``) model with Keras 3, without compiling."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    config: dict[str, Any] = {}
    if path.suffix.lower() in KERAS_SUFFIXES:
        config = _keras_archive_config(path)
        _refuse_lambdas(config)
    import keras

    from .. import keras_layers  # noqa: F401  (registers ClipFloor for deserialization)

    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as err:
        library = _quantized_library(config) if config else None
        if library is not None and "Could not locate" in str(err):
            name = _LIBRARIES[library]
            raise ModelFileError(
                f"{path} has {name} layers, which Keras runs only with {name} installed and "
                f"imported; spikeforge reads the model without {name} (inspect, convert), but "
                f"running the model itself (evaluate --backend ann) needs {name}"
            ) from None
        raise _custom_class_error(path, config, err) or ModelFileError(
            f"Keras {keras.__version__} cannot load {path} ({_brief(err)}); load it with the "
            f"Keras 3 that trained it and save it again with model.save('{path.stem}.keras')"
        ) from None


_SHAPES = re.compile(r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))")
_VARIABLE = re.compile(r"Target variable: <Variable path=([^,>]+)")
_OBJECTS = re.compile(r"<\w+ name=([^,>]+), built")


def _weights_error(model_path: Path, weights_path: Path, err: BaseException) -> ModelFileError:
    """The layer, expected and found shapes of a weight that does not fit, from Keras's error."""
    text = str(err)
    shapes, variable = _SHAPES.search(text), _VARIABLE.search(text)
    if shapes is None or variable is None:
        return ModelFileError(
            f"Keras 3 could not build {model_path} with the weights {weights_path} "
            f"({_brief(err)}); pass the weights saved with this architecture"
        )
    parts = variable.group(1).split("/")
    layer, weight = (parts[-2] if len(parts) > 1 else "?"), parts[-1]
    expected, found = shapes.groups()
    layers = list(dict.fromkeys(_OBJECTS.findall(text.split("could not be loaded:")[-1])))
    more = [name for name in layers if name != layer]
    also = f" (the weights of {', '.join(map(repr, more))} do not fit either)" if more else ""
    return ModelFileError(
        f"{weights_path} does not hold the weights of {model_path}: layer '{layer}' {weight} "
        f"has shape {found} there, the architecture expects {expected}{also}; pass the "
        "weights file saved with this architecture"
    )


def _keras3_json_with_weights(model_path: Path, weights_path: Path, arch: dict[str, Any],
                              lenient: bool = False) -> tuple[Architecture, str | None]:
    _refuse_lambdas(arch)
    import keras

    from .. import keras_layers  # noqa: F401

    try:
        model = keras.models.model_from_json(model_path.read_text())
    except (ValueError, TypeError, KeyError) as err:
        raise _custom_class_error(model_path, arch, err) or ModelFileError(
            f"Keras 3 could not build {model_path} ({_brief(err)})"
        ) from None
    try:
        model.load_weights(weights_path)
    except (ValueError, TypeError, KeyError) as err:
        raise _weights_error(model_path, weights_path, err) from None
    arch_records, problem = _keras_records(model, lenient)
    arch_records.source = "Keras 3 JSON + .weights.h5"
    return arch_records, problem


def _json_architecture(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not a JSON model architecture ({err})") from err


def _version(arch: dict[str, Any]) -> str:
    version = str(arch.get("keras_version", ""))
    keras3 = version.startswith("3") or (not version and "module" in arch)
    return "Keras 3" if keras3 else "Keras 2"


def read_model(path: Path, weights: Path | None = None) -> Architecture:
    """The layer records of the model in ``path`` (and ``weights`` for a JSON architecture)."""
    return _read(Path(path), weights, lenient=False)[0]


def read_for_inspection(path: Path, weights: Path | None = None
                        ) -> tuple[Architecture, str | None]:
    """The layer records as :func:`read_model` reads them, and why the model's input shape
    is refused (None when it is not): the layers are read all the same, with unknown input
    dimensions set to a placeholder (or, failing that, no input shape), so that ``spikeforge
    inspect`` can name every layer it cannot take before it says anything about the input."""
    return _read(Path(path), weights, lenient=True)


def _read(path: Path, weights: Path | None, lenient: bool) -> tuple[Architecture, str | None]:
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".nir":
        raise ModelFileError(
            f"{path} is a NIR graph: a spiking network already, with no ANN to run or read "
            "as layers; use `spikeforge inspect|convert` on it, and evaluate the converted "
            "network with --backend float or golden (docs/nir.md)"
        )
    if suffix == ".onnx":
        if weights is not None:
            raise ModelFileError(f"--weights is for JSON architectures; {path.name} already "
                                 "holds its weights")
        from . import onnx_layers  # noqa: F401  (registers the ONNX op handlers)
        from .onnx_graph import read_onnx

        return read_onnx(path, lenient)
    if suffix in JSON_SUFFIXES:
        if weights is None:
            raise ModelFileError(
                f"{path} is an architecture without weights: pass its weights file with "
                "--weights (the H5 file written by model.save_weights)"
            )
        arch = _json_architecture(path)
        parsed, problem = _parse(arch, lenient)
        if h5_kind(weights) == "keras3-weights":
            return _keras3_json_with_weights(path, Path(weights), arch, lenient)
        source = f"{_version(arch)} JSON + H5 weights"
        return _with_weights(parsed, read_weights(weights), source), problem
    if weights is not None:
        raise ModelFileError(
            f"--weights is for JSON architectures; {path.name} already holds its weights"
        )
    if suffix in H5_SUFFIXES:
        arch = read_model_config(path)
        parsed, problem = _parse(arch, lenient)
        return _with_weights(parsed, read_weights(path), f"{_version(arch)} full-model H5"), problem
    if suffix in KERAS_SUFFIXES:
        config = _keras_archive_config(path)
        if _quantized_library(config) is not None:
            return _quantized_archive(path, config, lenient)
        return _keras_records(load_keras_model(path), lenient)
    raise ModelFileError(
        f"{path}: unknown model file type '{suffix}'; spikeforge reads .keras (Keras 3), "
        ".h5 (a full Keras 2/3 model), .json architectures with --weights FILE.h5 and "
        ".onnx (PyTorch's torch.onnx.export, Brevitas' export_qonnx)"
    )


# --- Keras 3 archives of quantized models (QKeras for Keras 3, HGQ2), read without them --


_LIBRARIES = {"qkeras": "QKeras", "hgq": "HGQ2"}


def _library(entry: dict[str, Any]) -> str | None:
    """'qkeras' or 'hgq' for a layer entry of those libraries (by module or registered name)."""
    registered = str(entry.get("registered_name") or "")
    if registered.startswith("hgq"):  # hgq>QDense, hgq/qkeras>quantized_bits
        return "hgq"
    if registered.startswith("qkeras>"):
        return "qkeras"
    module = str(entry.get("module") or "")
    return next((lib for lib in _LIBRARIES if module.split(".")[0] == lib), None)


def keras_runnable(path: Path) -> bool:
    """Whether Keras itself can run the model file (a .keras archive of standard layers; not
    one of QKeras or HGQ2 layers, which spikeforge reads without those libraries)."""
    if Path(path).suffix.lower() not in KERAS_SUFFIXES:
        return False
    return _quantized_library(_keras_archive_config(Path(path))) is None


def _quantized_library(config: dict[str, Any]) -> str | None:
    """The quantization library whose layers a Keras 3 model config uses, if any."""
    found = {_library(entry) for entry in _layer_entries(config)} - {None}
    if not found:
        return None
    return "hgq" if "hgq" in found else "qkeras"


def _own_names(class_name: str, config: dict[str, Any], count: int) -> list[str]:
    """Names of a layer's own variables in the order Keras 3 saves them."""
    base = class_name.split(">")[-1]
    names: list[str] = []
    if "BatchNorm" in base:
        names = ["gamma"] * bool(config.get("scale", True))
        names += ["beta"] * bool(config.get("center", True))
        names += ["moving_mean", "moving_variance"]
    elif base == "ClipFloor":
        names = ["threshold"]
    elif "Conv" in base or "Dense" in base:
        names = ["kernel", *(["bias"] if config.get("use_bias", True) else [])]
    names += [f"variable_{i}" for i in range(len(names), count)]
    return names[:count]


def _quantized_archive(path: Path, config: dict[str, Any], lenient: bool
                       ) -> tuple[Architecture, str | None]:
    """A ``.keras`` archive of a QKeras (Keras 3 port) or HGQ2 model, read from its
    config.json and model.weights.h5 with json and h5py: neither library needs to be
    installed. Standard Keras layers in it are read the same way. HGQ2 layers keep their
    registered name (``hgq>QDense``) as class name, with their quantizers' variables under
    ``<quantizer>/<index>`` (``kq/0``, ...), for the HGQ2 handlers of :mod:`.layers`."""
    parsed, problem = _parse(config, lenient)
    model = config.get("config") or {}
    entries = [e for e in model.get("layers", []) if isinstance(e, dict)]
    if config.get("class_name") == "Sequential":  # Sequential.layers leaves the input out
        entries = [e for e in entries if e.get("class_name") != "InputLayer"]
    order = [(_entry_name(e), str(e.get("class_name"))) for e in entries]
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" not in archive.namelist():
            raise ModelFileError(f"{path} has no model.weights.h5; save the model again with "
                                 f"model.save('{path.name}')")
        data = archive.read("model.weights.h5")
    stored = read_keras3_archive_weights(data, order, f"{path}: model.weights.h5")
    by_name = {_entry_name(e): e for e in entries}
    for index, rec in enumerate(parsed.layers):
        entry = by_name.get(rec.name, {})
        groups = stored.get(rec.name, {})
        own = groups.get("", [])
        rec.weights = dict(zip(_own_names(rec.class_name, rec.config, len(own)), own,
                               strict=True))
        if _library(entry) == "hgq":
            rec.class_name = str(entry.get("registered_name") or f"hgq>{rec.class_name}")
            for sub, values in groups.items():
                if sub:
                    rec.weights.update({f"{sub.split('/')[0]}/{i}": v
                                        for i, v in enumerate(values)})
            if index == 0:
                rec.config = {**rec.config, MODEL_INPUT: True}
    library = _LIBRARIES[_quantized_library(config) or "qkeras"]
    parsed.source = f"Keras 3 .keras with {library} layers (read without {library})"
    return parsed, problem
