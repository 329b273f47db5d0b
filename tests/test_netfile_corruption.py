"""Property: whatever happens to a converted network's files, every consumer either refuses
with a UserError (the CLI: exit status 2, one line, no traceback) or behaves exactly as on
the original.

Consumers: ``spikeforge evaluate --backend golden`` and ``--backend float`` (run through
the CLI on a tiny IDX dataset), and the loaders every other consumer goes through:
``netdir.load_int_network`` (hls, sim, synth, report, package), ``netdir.load_float_network``
and a board bundle's ``Bundle.network()`` (the driver). Every backend is a deterministic
function of the loaded network, so for the loaders "exactly as on the original" means that
the loaded network equals the original, field by field and array by array, dtype included.

Known gap, accepted explicitly below: the default T (``config.timesteps``) is left out of
the build id on purpose (it is a run-time register), and no checksum covers the JSON, so a
byte flip that turns it into another valid T loads as that T. Such a network is accepted
only if it equals the original in everything else and the CLI matches the original run
with ``--timesteps`` at the new T.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from spikeforge.cli import main
from spikeforge.driver.bundle import MANIFEST, Bundle, write_bundle
from spikeforge.errors import UserError
from spikeforge.ir import Network
from spikeforge.netdir import load_float_network, load_int_network
from test_netfile_validation import small_networks, write_idx_dataset, write_small_netdir

FILES = ("snn.json", "snn.npz", "snn_float.json", "snn_float.npz")
TIMING = ("seconds", "images_per_second")


# --- comparing networks -------------------------------------------------------------------


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (
            isinstance(x, np.ndarray)
            and isinstance(y, np.ndarray)
            and x.dtype == y.dtype
            and x.shape == y.shape
            and np.array_equal(x, y)
        )
    return type(x) is type(y) and x == y


def network_differences(a: Network, b: Network) -> list[str]:
    """Every field (meta and arrays, dtype included) in which two networks differ."""
    diffs = [
        f"{f.name}: {getattr(a, f.name)!r} != {getattr(b, f.name)!r}"
        for f in dataclasses.fields(a)
        if f.name != "layers" and not _same(getattr(a, f.name), getattr(b, f.name))
    ]
    if len(a.layers) != len(b.layers):
        return [*diffs, f"{len(a.layers)} layers != {len(b.layers)}"]
    for i, (la, lb) in enumerate(zip(a.layers, b.layers, strict=True)):
        if type(la) is not type(lb):
            diffs.append(f"layers[{i}]: {type(la).__name__} != {type(lb).__name__}")
            continue
        diffs += [
            f"layers[{i}].{f.name} differs"
            for f in dataclasses.fields(la)
            if not _same(getattr(la, f.name), getattr(lb, f.name))
        ]
    return diffs


def timesteps_only(a: Network, b: Network) -> bool:
    """``b`` is ``a`` with another default T (the known gap, see the module docstring)."""
    return a.config.timesteps != b.config.timesteps and not network_differences(
        dataclasses.replace(a, config=dataclasses.replace(a.config, timesteps=b.config.timesteps)),
        b,
    )


# --- the original, built once --------------------------------------------------------------


@dataclasses.dataclass(repr=False)
class Original:
    """The untouched network directory, a bundle manifest for it, a dataset, and what the
    consumers make of them."""

    netdir: Path
    manifest: Path
    dataset: Path
    int_net: Network
    float_net: Network
    figures: dict[tuple[str, int | None], Any] = dataclasses.field(default_factory=dict)

    def expected_figures(self, backend: str, timesteps: int | None = None) -> Any:
        """The evaluate figures of the original (at another T in the known-gap case)."""
        if (backend, timesteps) not in self.figures:
            code, figures, err = evaluate(self, self.netdir, backend, timesteps)
            assert code == 0, err
            self.figures[backend, timesteps] = figures
        return self.figures[backend, timesteps]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Original:
    root = tmp_path_factory.mktemp("netfile-corruption")
    write_small_netdir(root / "net")
    int_net, float_net = load_int_network(root / "net"), load_float_network(root / "net")
    notebook = root / "nb.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    bundle = write_bundle(root / "bundle", int_net, notebook, board="zcu104", bitstream=None,
                          hwh=None, test_dir=None)
    dataset = write_idx_dataset(root / "data")
    return Original(root / "net", bundle / MANIFEST, dataset, int_net, float_net)


def evaluate(
    base: Original, netdir: Path, backend: str, timesteps: int | None = None
) -> tuple[int, Any, str]:
    """(exit status, the --json figures without timings, stderr) of `spikeforge evaluate`."""
    argv = ["evaluate", str(netdir), "--dataset", str(base.dataset), "--backend", backend,
            "--json", "--quiet"]
    argv += ["--timesteps", str(timesteps)] if timesteps else []
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    figures = json.loads(out.getvalue()) if code == 0 else None
    if figures is not None:
        figures = {k: v for k, v in figures.items() if k not in TIMING}
    return code, figures, err.getvalue()


# --- corruptions ---------------------------------------------------------------------------


def _json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """The path of every field and list item in a JSON value, depth first."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    paths: list[tuple] = []
    for key, child in items:
        paths += [(*prefix, key), *_json_paths(child, (*prefix, key))]
    return paths


def _other_values(value: Any) -> list[Any]:
    """Values of every other JSON type, and nearby or equal numbers of the other type."""
    values = [None, True, 0, -1, 2**40, 1.5, float("nan"), "x", "", [], [1, 2], {}, {"a": 1}]
    if isinstance(value, int) and not isinstance(value, bool):
        values += [float(value), value + 1, -value, str(value)]
    if isinstance(value, float):
        values += [value * 2, -value] + ([int(value)] if value.is_integer() else [])
    return [v for v in values if not (type(v) is type(value) and v == value)]


def edit_json(data: st.DataObject, path: Path) -> str:
    meta = json.loads(path.read_text())
    op = data.draw(st.sampled_from(["delete", "retype", "drop build_id"]))
    if op == "drop build_id":
        meta.pop("build_id", None)
    else:
        where = data.draw(st.sampled_from(_json_paths(meta)), label="field")
        *parents, last = where
        parent = functools.reduce(lambda node, key: node[key], parents, meta)
        if op == "delete":
            del parent[last]
        else:
            parent[last] = data.draw(st.sampled_from(_other_values(parent[last])), label="value")
    path.write_text(json.dumps(meta, indent=2))
    return op


DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint64", "float16", "float32", "float64",
          "bool", "complex128")
RESHAPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "flatten": lambda a: a.reshape(-1),
    "new axis": lambda a: a[None],
    "transpose": lambda a: a.T,
    "one short": lambda a: a[:-1],
    "one more": lambda a: np.concatenate([a, a[:1]]),
    "scalar": lambda a: a.reshape(-1)[0],
}


def edit_npz(data: st.DataObject, path: Path) -> str:
    with np.load(path) as npz:
        arrays = dict(npz)
    op = data.draw(st.sampled_from(["reshape", "retype", "drop", "add"]))
    key = data.draw(st.sampled_from(sorted(arrays)), label="array")
    array = arrays[key] if arrays[key].ndim else arrays[key].reshape(1)  # edited before
    if op == "reshape":
        arrays[key] = RESHAPES[data.draw(st.sampled_from(sorted(RESHAPES)), label="how")](array)
    elif op == "retype":
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            arrays[key] = array.astype(data.draw(st.sampled_from(DTYPES), label="dtype"))
    elif op == "drop":
        del arrays[key]
    else:
        arrays[data.draw(st.sampled_from(["1.weights", "9.bias", "extra"]))] = array
    np.savez(path, **arrays)
    return op


def damage_bytes(data: st.DataObject, path: Path) -> str:
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1), label="length")])
        return "truncate"
    for _ in range(data.draw(st.integers(1, 3), label="flips")):
        raw[data.draw(st.integers(0, len(raw) - 1), label="at")] ^= data.draw(
            st.integers(1, 255), label="mask"
        )
    path.write_bytes(raw)
    return "flip"


def corrupt(data: st.DataObject, netdir: Path) -> None:
    """One or two structural edits (JSON fields, arrays) and/or one byte-level damage."""
    edits = data.draw(st.lists(st.sampled_from(FILES), max_size=2), label="edited")
    damaged = data.draw(st.lists(st.sampled_from(FILES), min_size=0 if edits else 1, max_size=1),
                        label="damaged")
    for name in edits:  # structural edits first: they need readable files
        edit = edit_json if name.endswith(".json") else edit_npz
        note(f"{name}: {edit(data, netdir / name)}")
    for name in damaged:
        note(f"{name}: {damage_bytes(data, netdir / name)}")


# --- the property --------------------------------------------------------------------------


def load_or_refusal(load: Callable[[], Network]) -> Network | UserError:
    try:
        return load()
    except UserError as err:
        return err


def check_loaded(what: str, result: Network | UserError, want: Network) -> int | None:
    """Assert refusal or equality; returns the new default T in the known-gap case."""
    if isinstance(result, UserError):
        note(f"{what}: refused: {result}")
        event(f"{what}: refused")
        return None
    event(f"{what}: accepted")
    if timesteps_only(want, result):
        note(f"{what}: accepted with another default T (known gap)")
        return result.config.timesteps
    assert not network_differences(want, result), (what, network_differences(want, result))
    return None


def check_cli(base: Original, backend: str, netdir: Path, timesteps: int | None) -> None:
    """`spikeforge evaluate` exits 2 with one line, or prints the original's figures."""
    code, figures, err = evaluate(base, netdir, backend)
    if code == 2:
        assert err.startswith("spikeforge evaluate: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        return
    assert code == 0, (code, err)
    assert figures == base.expected_figures(backend, timesteps), backend


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_corrupt_network_files_are_refused_or_harmless(base, data):
    with tempfile.TemporaryDirectory(dir=base.netdir.parent) as tmp:
        netdir, bundle = Path(tmp) / "net", Path(tmp) / "bundle"
        shutil.copytree(base.netdir, netdir)
        corrupt(data, netdir)
        bundle.mkdir()
        shutil.copyfile(base.manifest, bundle / MANIFEST)
        for name in ("snn.json", "snn.npz"):
            shutil.copyfile(netdir / name, bundle / name)

        int_t = check_loaded("int", load_or_refusal(lambda: load_int_network(netdir)),
                             base.int_net)
        float_t = check_loaded("float", load_or_refusal(lambda: load_float_network(netdir)),
                               base.float_net)
        check_loaded("bundle", load_or_refusal(lambda: Bundle.open(bundle).network()),
                     base.int_net)
        check_cli(base, "golden", netdir, int_t)
        check_cli(base, "float", netdir, float_t)


def test_the_untouched_copy_behaves_as_the_original(base, tmp_path):
    shutil.copytree(base.netdir, tmp_path / "net")
    assert not network_differences(load_int_network(tmp_path / "net"), small_networks()[1])
    assert not network_differences(load_float_network(tmp_path / "net"), base.float_net)
    assert not network_differences(Bundle.open(base.manifest.parent).network(), base.int_net)
    for backend in ("golden", "float"):
        check_cli(base, backend, tmp_path / "net", None)
    assert base.expected_figures("golden")["spikes_per_image"] > 0
