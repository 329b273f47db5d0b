"""A converted network through the command line's backends, checked against the golden
model: the end-to-end tests of the model kinds and frontends share these."""

from __future__ import annotations

import json
from pathlib import Path

from spikeforge.cli import main


def assert_hls_csim_equal(net: Path, data: Path, out: Path, capsys, images: int) -> None:
    """`spikeforge hls` C-simulates ``images`` test inputs with 0 mismatches."""
    assert main(["hls", str(net), "--dataset", str(data), "--images", str(images),
                 "--out", str(out), "--quiet"]) == 0
    assert " 0 mismatches" in capsys.readouterr().out


def assert_rtl_equal(net: Path, data: Path, build_dir: Path, capsys, images: int) -> None:
    """`spikeforge sim` runs ``images`` test inputs through the RTL core: every count, class
    and saturation total equal to the golden model's."""
    capsys.readouterr()
    assert main(["sim", str(net), "--dataset", str(data), "--images", str(images),
                 "--build-dir", str(build_dir), "--json", "--quiet"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["mismatched_images"] == 0 and figures["saturation_equal"]
