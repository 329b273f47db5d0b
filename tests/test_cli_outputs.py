"""Every command that writes a directory refuses what is not its own, and replaces its own
earlier output (the mechanism itself: tests/test_outdir.py)."""

from __future__ import annotations

import json

import pytest

from spikeforge.cli import main
from spikeforge.outdir import MARKER


def user_dir(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.txt").write_text("keep me")
    return folder


def assert_untouched(folder):
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt"]
    assert (folder / "thesis.txt").read_text() == "keep me"


def commands(net, out):
    """Each writing command with ``out`` as its output path."""
    return {
        "convert": ["convert", str(net / "ann.keras"), "--dataset", "mnist", "--out", str(out)],
        "hls": ["hls", str(net), "--out", str(out)],
        "package": ["package", str(net), "--no-bitstream", "--out", str(out)],
        "sim": ["sim", str(net), "--images", "1", "--build-dir", str(out)],
        "synth": ["synth", str(net), "--build-dir", str(out)],
    }


@pytest.mark.parametrize("command", ["convert", "hls", "package"])
def test_a_user_directory_is_refused_and_kept(tiny_net, tmp_path, capsys, command):
    folder = user_dir(tmp_path)
    assert main([*commands(tiny_net, folder)[command], "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "was not written by spikeforge" in err and "pass another --out" in err
    assert_untouched(folder)


@pytest.mark.parametrize("command", ["convert", "hls", "package", "sim", "synth"])
def test_a_regular_file_is_refused_and_kept(tiny_net, tmp_path, capsys, command):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert main([*commands(tiny_net, target)[command], "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and ("not a directory" in err or "is a file" in err)
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("command", ["hls", "package"])
def test_the_input_network_directory_is_refused(tiny_net, capsys, command):
    before = sorted(p.name for p in tiny_net.iterdir())
    assert main([*commands(tiny_net, tiny_net)[command], "--quiet"]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert sorted(p.name for p in tiny_net.iterdir()) == before


def test_convert_refuses_the_directory_of_its_own_model(tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "model.keras").write_bytes(b"not read before the refusal")
    assert main(["convert", str(victim / "model.keras"), "--dataset", "mnist",
                 "--out", str(victim), "--quiet"]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert (victim / "model.keras").read_bytes() == b"not read before the refusal"


def test_convert_replaces_its_own_earlier_network(tiny_model, tmp_path, capsys):
    out = tmp_path / "net"
    args = ["convert", str(tiny_model), "--dataset", "mnist", "--out", str(out),
            "--calibration", "200", "--quiet"]
    assert main([*args, "--timesteps", "8"]) == 0
    (out / "stray.txt").write_text("written into the old output")
    assert main([*args, "--timesteps", "12"]) == 0
    assert json.loads((out / "snn.json").read_text())["config"]["timesteps"] == 12
    assert not (out / "stray.txt").exists()
    assert json.loads((out / MARKER).read_text())["kind"] == "network"
    assert [p.name for p in tmp_path.iterdir()] == ["net"]  # no staging left behind


def test_package_replaces_its_own_bundle_but_not_a_network(tiny_net, tmp_path, capsys):
    out = tmp_path / "bundle"
    for _ in range(2):
        assert main(["package", str(tiny_net), "--no-bitstream", "--out", str(out), "-q"]) == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "board bundle"
    capsys.readouterr()
    other = tmp_path / "other-net"
    assert main(["convert", str(tiny_net / "ann.keras"), "--dataset", "mnist", "--out",
                 str(other), "--calibration", "100", "--quiet"]) == 0
    assert main(["package", str(tiny_net), "--no-bitstream", "--out", str(other), "-q"]) == 2
    assert "is a spikeforge network, not a board bundle" in capsys.readouterr().err


def test_train_refuses_a_file_it_did_not_write_and_replaces_its_own(tiny_model, tmp_path,
                                                                      capsys):
    from spikeforge.train import is_trained_model

    assert is_trained_model(tiny_model)
    notes = tmp_path / "notes.keras"
    notes.write_text("a file someone else wrote")
    args = ["train", "--arch", "mnist-cnn", "--dataset", "mnist", "--epochs", "1",
            "--limit", "64", "--quiet", "--out"]
    assert main([*args, str(notes)]) == 2
    assert "was not written by `spikeforge train`" in capsys.readouterr().err
    assert notes.read_text() == "a file someone else wrote"
    (tmp_path / "folder.keras").mkdir()
    assert main([*args, str(tmp_path / "folder.keras")]) == 2
    capsys.readouterr()
    mine = tmp_path / "mine.keras"
    for _ in range(2):
        assert main([*args, str(mine)]) == 0
    assert is_trained_model(mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.keras", "mine.keras",
                                                          "notes.keras"]
