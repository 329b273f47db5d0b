"""The board notebook, executed as a board user would run it (from a `spikeforge package`
bundle), against the simulated device; its printed and saved outputs are checked against
the golden model."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "pynq", reason="pynq is not installed here: `make test-pynq` runs these in .venv-pynq"
)
pytest.importorskip("nbclient", reason="nbclient executes the notebook (.venv-pynq has it)")

import json
import os

import nbformat
import numpy as np
from nbclient import NotebookClient

from spikeforge.cli import main
from spikeforge.verify import golden

pytestmark = pytest.mark.pynq

IMAGES = 500


def _stdout(cell) -> str:
    streams = [o for o in cell.get("outputs", []) if o["output_type"] == "stream"]
    return "".join(o["text"] for o in streams if o["name"] == "stdout")


def _tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r}"
    return cells[0]


@pytest.fixture(scope="module")
def executed(real_net_dir, mnist, tmp_path_factory):
    bundle = tmp_path_factory.mktemp("bundle") / "spikeforge"
    assert main(["package", str(real_net_dir), "--no-bitstream", "--dataset", "mnist",
                 "--out", str(bundle), "-q"]) == 0
    nb = nbformat.read(bundle / "spikeforge_pynq.ipynb", as_version=4)
    env = {"SPIKEFORGE_TARGET": "simulated", "SPIKEFORGE_IMAGES": str(IMAGES),
           "SPIKEFORGE_GOLDEN_CHECK": "100"}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits them; the notebook reads them
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(bundle)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return bundle, nb


@pytest.fixture(scope="module")
def expected(real_net, mnist):
    return golden(real_net, mnist.test_images[:IMAGES], real_net.config.timesteps)


def test_accuracy_cell_equals_the_golden_model(executed, expected, mnist):
    _, nb = executed
    labels = mnist.test_labels[:IMAGES]
    correct = int((expected.classes == labels).sum())
    assert _stdout(_tagged(nb, "accuracy")) == (
        f"accuracy {correct / IMAGES:.4f} ({correct}/{IMAGES}), target simulated\n")


def test_saved_results_equal_the_golden_model(executed, expected, mnist):
    bundle, nb = executed
    with np.load(bundle / "results" / "spikeforge_results.npz") as saved:
        assert np.array_equal(saved["counts"], expected.counts)
        assert np.array_equal(saved["classes"], expected.classes)
        assert np.array_equal(saved["labels"], mnist.test_labels[:IMAGES])
    summary = json.loads((bundle / "results" / "summary.json").read_text())
    confusion = np.array(summary["confusion"])
    assert confusion.sum() == IMAGES and np.trace(confusion) == summary["correct"]
    assert summary["saturation"] == expected.saturation.sum(axis=0).tolist()
    assert summary["golden_identical"] == summary["golden_checked"] == 100
    assert _stdout(_tagged(nb, "golden")) == (
        "golden model check: 100/100 images identical (counts and class)\n")


def test_notebook_shows_figures_and_says_what_it_cannot_measure(executed):
    _, nb = executed
    text = "".join(_stdout(c) for c in nb.cells if c.cell_type == "code")
    assert "target: simulated (requested)" in text
    assert f"{IMAGES} test images (28, 28, 1) from the bundle's data/ folder" in text
    assert "energy per image: not measured: the simulated device has no power sensors" in text
    assert "core cycles: not counted" in text
    assert "== core counts" in text  # the raster's golden counts match the core's
    images = [o for c in nb.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 3  # confusion matrix, per-class counts, raster
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
