"""Defaults that match the model: a network trained with clip-floor (quantized) ReLUs converts
with half-threshold start and running-max pooling without the user naming them, and the
summary and report.md say what was chosen and why; a plain-ReLU model keeps today's modes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikeforge import ir
from spikeforge.cli import main
from spikeforge.flow import ConvertOptions, run_flow

AUTO = frozenset({"v_init", "pool"})


def _graph(levels: int | None) -> ir.AnnGraph:
    rng = np.random.default_rng(0)
    relu = ir.Relu(cap=1.0, levels=levels) if levels else ir.Relu()
    return ir.AnnGraph((6, 6, 1), [
        ir.Conv2D("c1", rng.normal(0, 0.5, (3, 3, 1, 4)), np.full(4, 0.1), relu=relu),
        ir.MaxPool("p1", (2, 2), (2, 2)),
        ir.Flatten("flat"),
        ir.Dense("out", rng.normal(0, 0.5, (16, 3)), np.zeros(3)),
    ], "g")


DATA = np.random.default_rng(1).integers(0, 256, (50, 6, 6, 1)).astype(np.uint8)


def test_clip_floor_model_gets_half_start_and_running_max():
    state = run_flow(_graph(levels=4), DATA, ConvertOptions(choose=AUTO))
    assert (state.int_net.config.v_init, state.int_net.config.pool) == ("half", "running_max")
    chosen = {c["option"]: c for c in state.choices}
    assert chosen["v_init"]["value"] == "half" and "clip-floor" in chosen["v_init"]["reason"]
    assert chosen["pool"]["value"] == "running_max"
    assert chosen["threshold balancing"]["value"] == "on"


def test_plain_relu_model_keeps_zero_start_and_gates():
    state = run_flow(_graph(levels=None), DATA, ConvertOptions(choose=AUTO))
    assert (state.int_net.config.v_init, state.int_net.config.pool) == ("zero", "gate")
    assert "not all clip-floor" in {c["option"]: c for c in state.choices}["v_init"]["reason"]


def test_a_mode_the_user_names_is_kept():
    config = ir.SnnConfig(v_init="zero")
    state = run_flow(_graph(levels=4), DATA,
                     ConvertOptions(config=config, choose=frozenset({"pool"})))
    assert (state.int_net.config.v_init, state.int_net.config.pool) == ("zero", "running_max")


@pytest.fixture(scope="module")
def clip_floor_model(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp("clip")
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (300, 28, 28, 1)).astype(np.uint8)
    y = (x.reshape(300, -1)[:, :392].mean(axis=1) > x.reshape(300, -1)[:, 392:].mean(axis=1))
    np.savez(root / "data.npz", x_train=x[:250], y_train=y[:250].astype(int), x_test=x[250:],
             y_test=y[250:].astype(int))
    model = root / "cf.keras"
    assert main(["train", "--arch", "mnist-cnn", "--dataset", str(root / "data.npz"),
                 "--activation", "clip-floor", "--levels", "4", "--epochs", "1",
                 "--out", str(model), "--quiet"]) == 0
    return root, model


def test_cli_convert_says_what_it_chose(clip_floor_model, capsys):
    root, model = clip_floor_model
    net = root / "net"
    capsys.readouterr()
    assert main(["convert", str(model), "--dataset", str(root / "data.npz"), "--out", str(net),
                 "--timesteps", "4", "--calibrate", "bias", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "v_init: half (every hidden layer is a clip-floor" in out
    assert "pool: running-max" in out and "calibration bias at T = 4" in out
    report = (net / "report.md").read_text()
    assert "initial membrane: half, max-pool: running-max" in report
    assert "v_init: half, chosen because every hidden layer is a clip-floor" in report
    assert "- calibration: bias at T = 4 on 250 images" in report
    conversion = json.loads((net / "conversion.json").read_text())
    assert conversion["config"]["v_init"] == "half"
    assert conversion["calibration"]["level"] == "bias"
    # naming the modes overrides the choice
    assert main(["convert", str(model), "--dataset", str(root / "data.npz"), "--out", str(net),
                 "--v-init", "zero", "--pool", "gate", "--quiet"]) == 0
    conversion = json.loads((net / "conversion.json").read_text())
    assert (conversion["config"]["v_init"], conversion["config"]["pool"]) == ("zero", "gate")
    assert conversion["choices"] == [{"option": "threshold balancing", "value": "on",
                                      "reason": "clipped ReLUs: each layer's scale is its cap"}]
