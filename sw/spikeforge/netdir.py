"""The directory ``spikeforge convert`` writes, and reading it back.

    snn.json / snn.npz              the integer network: the spec every backend builds from
    snn_float.json / snn_float.npz  the float SNN, for measuring quantization loss
    ann.keras                       a Keras 3 source model, for ``--backend ann`` (other
                                    sources run as the numpy ANN of the recorded files)
    conversion.json                 how it was made (options, dataset, scales)
    report.md / report.json         per-layer formats and overflow headroom

The directory is staged and swapped into place (``outdir``): an interrupted conversion
never leaves a half-written network behind, and only an earlier network is replaced.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .ir import Network
from .netfile import NetworkFileError, load_network, save_network
from .outdir import staged_output
from .report import conversion_report, report_markdown

INT_STEM, FLOAT_STEM, ANN_FILE = "snn", "snn_float", "ann.keras"
KIND = "network"


def write_netdir(
    out_dir: Path,
    int_net: Network,
    float_net: Network,
    model_path: Path | None,
    conversion: dict[str, Any],
) -> dict[str, Any]:
    """Write a converted network directory atomically; returns the report."""
    report = conversion_report(int_net, float_net, conversion)
    with staged_output(out_dir, KIND, inputs=[model_path]) as staging:
        save_network(int_net, staging / INT_STEM)
        save_network(float_net, staging / FLOAT_STEM)
        if model_path is not None:
            shutil.copyfile(model_path, staging / ANN_FILE)
        (staging / "conversion.json").write_text(json.dumps(conversion, indent=2) + "\n")
        (staging / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (staging / "report.md").write_text(report_markdown(report))
    return report


def _require_dir(net_dir: Path) -> Path:
    net_dir = Path(net_dir)
    if not net_dir.is_dir():
        raise NetworkFileError(
            f"{net_dir} is not a converted network; run `spikeforge convert MODEL --out {net_dir}`"
        )
    return net_dir


def _load(net_dir: Path, stem: str, integer: bool) -> Network:
    net = load_network(_require_dir(net_dir) / stem)
    if net.is_integer != integer:
        raise NetworkFileError(
            f"{net_dir}/{stem}.json holds the {'float' if integer else 'integer'} network, not "
            f"the {'integer' if integer else 'float'} one; the files were mixed up: convert the "
            "model again (`spikeforge convert`)"
        )
    return net


def load_int_network(net_dir: Path) -> Network:
    return _load(net_dir, INT_STEM, integer=True)


def load_float_network(net_dir: Path) -> Network:
    return _load(net_dir, FLOAT_STEM, integer=False)


# conversion.json fields consumers read, and the types they must have
_CONVERSION_FIELDS: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "weights": (str, type(None)),
    "dataset": (str,),
}


def read_conversion(net_dir: Path, *fields: str) -> dict[str, Any]:
    """``conversion.json`` of ``net_dir``, with the ``fields`` the caller reads checked."""
    path = _require_dir(net_dir) / "conversion.json"
    try:
        conversion = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise NetworkFileError(
            f"{path} cannot be read ({err}); convert the model again (`spikeforge convert`)"
        ) from err
    for key in fields:
        types = _CONVERSION_FIELDS[key]
        if not isinstance(conversion, dict) or not isinstance(conversion.get(key), types):
            raise NetworkFileError(
                f"{path}: field '{key}' is missing or not a "
                f"{' or '.join(t.__name__ for t in types)}; convert the model again "
                "(`spikeforge convert`)"
            )
    return conversion
