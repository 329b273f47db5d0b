"""The folder ``spikeforge package`` writes, to copy to a board (numpy only).

    manifest.json                what is in it: network, build id, VLNV, board, files
    spikeforge.bit / .hwh        the overlay (absent in a --no-bitstream bundle)
    snn.json / snn.npz           the integer network the bitstream was built from
    registers.json / .md         the core's register map (contract.register_map)
    spikeforge_pynq.ipynb        the board notebook
    spikeforge/                  this Python package (the board needs numpy and pynq only)
    data/                        MNIST-layout test IDX files, when packaged with --dataset

It is staged and swapped into place (``outdir``); only an earlier bundle is replaced.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from .. import __version__, contract
from ..datasets import read_idx
from ..ir import Network
from ..netfile import build_id, load_network, save_network
from ..outdir import staged_output
from . import hwinfo
from .errors import DriverError

MANIFEST = "manifest.json"
BUNDLE_VERSION = 1
BITSTREAM, HWH = "spikeforge.bit", "spikeforge.hwh"
NET_STEM = "snn"
NOTEBOOK = "spikeforge_pynq.ipynb"
KIND = "board bundle"
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DriverError(f"{directory} has no {stem} (or {stem}.gz), needed for the test set")


def write_bundle(
    out: Path,
    net: Network,
    notebook: Path,
    *,
    board: str,
    bitstream: Path | None,
    hwh: Path | None,
    test_dir: Path | None,
) -> Path:
    """Gather everything a board needs into ``out`` (atomically); returns ``out``."""
    hwinfo.board(board)
    with staged_output(out, KIND, inputs=[bitstream, hwh, notebook, test_dir]) as stage:
        if bitstream is not None and hwh is not None:
            shutil.copyfile(bitstream, stage / BITSTREAM)
            shutil.copyfile(hwh, stage / HWH)
        save_network(net, stage / NET_STEM)
        registers = contract.register_map(net)
        (stage / "registers.json").write_text(
            json.dumps([dataclasses.asdict(r) for r in registers], indent=2) + "\n"
        )
        (stage / "registers.md").write_text(contract.register_table_markdown(registers))
        shutil.copyfile(notebook, stage / NOTEBOOK)
        package = Path(__file__).resolve().parents[1]
        shutil.copytree(package, stage / "spikeforge", ignore=shutil.ignore_patterns("__pycache__"))
        if test_dir is not None:
            (stage / "data").mkdir()
            for stem in TEST_FILES:
                source = _find_idx(test_dir, stem)
                shutil.copyfile(source, stage / "data" / source.name)
        manifest = {
            "bundle_version": BUNDLE_VERSION,
            "spikeforge_version": __version__,
            "network": net.name,
            "build_id": build_id(net),
            "core_vlnv": hwinfo.CORE_VLNV,
            "board": board,
            "bitstream": BITSTREAM if bitstream is not None else None,
            "input_shape": list(net.input_shape),
            "num_classes": net.num_classes,
            "timesteps": net.config.timesteps,
            "max_timesteps": net.config.max_timesteps,
            "test_set": "data" if test_dir is not None else None,
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return Path(out)


# manifest fields the reader uses, and the types they must have
_MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "build_id": (int,),
    "board": (str,),
    "bitstream": (str, type(None)),
    "test_set": (str, type(None)),
}


class Bundle:
    """A bundle folder, read back on the board or here."""

    def __init__(self, path: Path, manifest: dict) -> None:
        self.path, self.manifest = path, manifest

    @classmethod
    def open(cls, path: str | Path) -> Bundle:
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise DriverError(
                f"{path} is not a spikeforge bundle (no {MANIFEST}); make one with "
                "`spikeforge package NETDIR --out DIR`"
            )
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as err:
            raise DriverError(f"{manifest_path} cannot be read ({err}); package it again") from err
        if not isinstance(manifest, dict) or manifest.get("bundle_version") != BUNDLE_VERSION:
            version = manifest.get("bundle_version") if isinstance(manifest, dict) else None
            raise DriverError(
                f"{path}: bundle version {version}, this spikeforge reads {BUNDLE_VERSION}; "
                "package it again"
            )
        for key, types in _MANIFEST_FIELDS.items():
            if not isinstance(manifest.get(key), types) or isinstance(manifest.get(key), bool):
                raise DriverError(
                    f"{manifest_path}: field '{key}' is missing or not a "
                    f"{' or '.join(t.__name__ for t in types)}; package the bundle again"
                )
        return cls(path, manifest)

    @property
    def board(self) -> str:
        return self.manifest["board"]

    @property
    def bitstream(self) -> Path | None:
        name = self.manifest["bitstream"]
        return self.path / name if name else None

    def network(self) -> Network:
        net = load_network(self.path / NET_STEM)
        if build_id(net) != self.manifest["build_id"]:
            raise DriverError(
                f"{self.path}: the network's build id 0x{build_id(net):08X} is not the "
                f"manifest's 0x{self.manifest['build_id']:08X}; package the bundle again"
            )
        return net

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The packaged test images (N, H, W, C) uint8 and labels (N,)."""
        if not self.manifest["test_set"]:
            raise DriverError(
                f"{self.path} was packaged without test images; package with --dataset mnist "
                "or load them with spikeforge.datasets.load_dataset"
            )
        directory = self.path / self.manifest["test_set"]
        images = read_idx(_find_idx(directory, TEST_FILES[0]))
        labels = read_idx(_find_idx(directory, TEST_FILES[1])).astype(np.int64)
        if images.ndim == 3:
            images = images[..., None]
        return images, labels
