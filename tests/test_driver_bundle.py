"""The parts of the board driver that need no pynq: `spikeforge package`, the bundle it
writes, the overlay parameters, the register decoding, and the import guard."""

from __future__ import annotations

import gzip
import importlib.util
import json

import numpy as np
import pytest

from netgen import random_network
from spikeforge import contract
from spikeforge.cli import main
from spikeforge.driver import hwinfo, overlay_params, status
from spikeforge.driver.bundle import Bundle
from spikeforge.driver.errors import DriverError
from spikeforge.netfile import build_id, save_network

HAS_PYNQ = importlib.util.find_spec("pynq") is not None


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def netdir(tmp_path):
    net = random_network(3)
    save_network(net, tmp_path / "net" / "snn")
    return tmp_path / "net", net


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    return path


def test_package_without_bitstream_gathers_network_registers_driver_and_test_set(
    tmp_path, netdir, notebook
):
    net_path, net = netdir
    data = tmp_path / "idx"
    data.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (5, *net.input_shape), dtype=np.uint8)
    _write_idx(data / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(data / "t10k-labels-idx1-ubyte.gz", np.arange(5))
    out = tmp_path / "bundle"
    code = main(["package", str(net_path), "--no-bitstream", "--dataset", str(data),
                 "--notebook", str(notebook), "--board", "zcu104", "--out", str(out), "-q"])
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert names == {".spikeforge-output", "manifest.json", "snn.json", "snn.npz",
                     "registers.json", "registers.md", "spikeforge_pynq.ipynb", "spikeforge",
                     "data"}
    assert (out / "spikeforge" / "driver" / "accelerator.py").is_file()
    assert not list(out.rglob("__pycache__"))
    registers = json.loads((out / "registers.json").read_text())
    assert [(r["name"], r["offset"]) for r in registers] == [
        (r.name, r.offset) for r in contract.register_map(net)]
    bundle = Bundle.open(out)
    assert bundle.bitstream is None and bundle.board == "zcu104"
    assert bundle.manifest["core_vlnv"] == hwinfo.CORE_VLNV
    assert build_id(bundle.network()) == build_id(net) == bundle.manifest["build_id"]
    got_images, got_labels = bundle.test_set()
    assert np.array_equal(got_images, images) and got_labels.tolist() == [0, 1, 2, 3, 4]


def test_package_with_a_bitstream_copies_bit_and_hwh(tmp_path, netdir, notebook):
    net_path, _ = netdir
    bit = tmp_path / "ov" / "design.bit"
    bit.parent.mkdir()
    bit.write_bytes(b"\x00\x09bitstream")
    bit.with_suffix(".hwh").write_text(f'<MODULE VLNV="{hwinfo.CORE_VLNV}"/>')
    out = tmp_path / "bundle"
    assert main(["package", str(net_path), "--bitstream", str(bit), "--notebook", str(notebook),
                 "--out", str(out), "-q"]) == 0
    bundle = Bundle.open(out)
    assert bundle.bitstream == out / "spikeforge.bit"
    assert bundle.bitstream.read_bytes() == bit.read_bytes()
    assert (out / "spikeforge.hwh").read_text() == bit.with_suffix(".hwh").read_text()
    with pytest.raises(DriverError, match="packaged without test images"):
        bundle.test_set()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "no bitstream: build the overlay with `make overlay`"),
        (["--bitstream", "missing.bit"], "bitstream missing.bit does not exist"),
        (["--no-bitstream", "--bitstream", "x.bit"], "--no-bitstream contradicts"),
        (["--bitstream", "{bit}"], "describes no IP of type spikeforge.org:hls:snn_top:1.0"),
    ],
)
def test_package_refuses_without_a_usable_bitstream(
    tmp_path, netdir, notebook, capsys, extra, message
):
    bit = tmp_path / "other.bit"
    bit.write_bytes(b"bits")
    bit.with_suffix(".hwh").write_text('<MODULE VLNV="xilinx.com:ip:axi_dma:7.1"/>')
    extra = [arg.format(bit=bit) for arg in extra]
    out = tmp_path / "bundle"
    code = main(["package", str(netdir[0]), *extra, "--notebook", str(notebook), "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_package_will_not_overwrite_a_folder_that_is_not_a_bundle(
    tmp_path, netdir, notebook, capsys
):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    code = main(["package", str(netdir[0]), "--no-bitstream", "--notebook", str(notebook),
                 "--out", str(out), "-q"])
    assert code == 2 and "was not written by spikeforge" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_bundle_open_explains_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(DriverError, match=r"not a spikeforge bundle.*spikeforge package"):
        Bundle.open(tmp_path)


def test_overlay_params_carry_the_vlnv_dma_config_and_board_preset(tmp_path):
    repo = tmp_path / "ip" / "snn_top"
    repo.mkdir(parents=True)
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    (repo / "component.xml").write_text(
        f"<spirit:vendor>{vendor}</spirit:vendor><spirit:library>{library}</spirit:library>"
        f"<spirit:name>{name}</spirit:name><spirit:version>{version}</spirit:version>"
    )
    out = tmp_path / "overlay"
    assert overlay_params.main(["--board", "ultra96v2", "--ip-repo", str(tmp_path / "ip"),
                                "--out-dir", str(out), "--jobs", "3"]) == 0
    text = (out / "params.tcl").read_text()
    assert f"set SF_CORE_VLNV {{{hwinfo.CORE_VLNV}}}" in text
    assert "set SF_PART {xczu3eg-sbva484-1-i}" in text and "set SF_PS {ps8}" in text
    assert "set SF_CORE_ADDRESS {0xA0000000}" in text and "set SF_JOBS {3}" in text
    assert "CONFIG.c_include_sg {0}" in text and "CONFIG.c_sg_length_width {26}" in text


def test_overlay_params_refuse_an_ip_repo_without_the_core(tmp_path):
    with pytest.raises(SystemExit, match=r"holds no packaged IP spikeforge\.org:hls:snn_top:1\.0"):
        overlay_params.main(["--ip-repo", str(tmp_path), "--out-dir", str(tmp_path / "o")])


def test_register_decoding_names_the_flags():
    assert status.describe_ctrl(0x4) == "0x00000004 (ap_idle)"
    assert status.describe_core_status(0x6) == (
        "0x00000006 (no TLAST on an image's last beat, TIMESTEPS out of range, nothing ran)")
    assert status.describe_dmasr(0x41) == (
        "0x00000041 (halted, DMADecErr (address decodes to no memory))")
    assert status.describe_dmasr(0) == "0x00000000 (running)"


def test_core_window_covers_every_saturation_register():
    assert hwinfo.core_addr_range(3) == 0x1000
    assert hwinfo.core_addr_range(600) >= contract.SAT_BASE + 8 * 600


@pytest.mark.skipif(HAS_PYNQ, reason="pynq is installed here; this checks the message without it")
def test_driver_imports_without_pynq_and_says_where_pynq_comes_from():
    import spikeforge.driver as driver
    from spikeforge.driver.errors import PynqMissingError

    assert driver.CORE_VLNV == hwinfo.CORE_VLNV
    with pytest.raises(PynqMissingError, match="make venv-pynq"):
        driver.SpikeforgeAccelerator  # noqa: B018
