"""`spikeforge hls` end to end on the session's MNIST network."""

from __future__ import annotations

import pytest

from spikeforge.cli import main


@pytest.mark.csim
def test_hls_command_generates_and_matches_the_golden_model(mnist_net_dir, tmp_path, capsys):
    out = tmp_path / "hls"
    code = main(
        ["hls", str(mnist_net_dir), "--out", str(out), "--images", "30", "--timesteps", "4",
         "16", "--vectors", "3", "--quiet"]
    )
    captured = capsys.readouterr().out
    assert code == 0, captured
    assert captured.count("0 mismatches") == 2
    assert (out / "csim").is_file() and (out / "tb" / "tb_data" / "expected.bin").is_file()
    # the generated testbench checks itself against the golden vectors (as in Vitis csim)
    import subprocess

    done = subprocess.run(
        ["./csim", "tb/tb_data/input.bin", "4", "3", "out.bin", "--expected",
         "tb/tb_data/expected.bin", "--weights", "firmware/weights"],
        cwd=out, capture_output=True, text=True,
    )
    assert done.returncode == 0 and "PASS" in done.stdout, done.stdout + done.stderr


def test_hls_command_vitis_missing(mnist_net_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    code = main(["hls", str(mnist_net_dir), "--out", str(tmp_path / "x"), "--vitis", "--quiet"])
    assert code == 2
    assert "vitis_hls is not on PATH" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
