"""The clip-floor training activation and the low-latency conversion it enables."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from keras_builders import keras_predict, random_images, sequential
from spikeforge import ir
from spikeforge.ann_numpy import iter_activations, predict
from spikeforge.cli import main
from spikeforge.datasets import CIFAR_PY_TRAIN
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend.keras_model import keras_to_graph
from spikeforge.simulator import simulate


def clip_floor_model(levels: int, threshold: float, seed: int = 0, rate_penalty: float = 0.0):
    from keras import layers

    from spikeforge.keras_layers import ClipFloor

    return sequential(
        (8, 8, 1),
        [
            layers.Conv2D(4, 3, name="conv"),
            ClipFloor(levels, threshold, rate_penalty, name="cf"),
            layers.Flatten(),
            layers.Dense(3, name="out"),
        ],
        seed,
    )


def test_clip_floor_forward_is_the_quantized_relu():
    import keras

    from spikeforge.keras_layers import ClipFloor

    layer = ClipFloor(levels=4, initial_threshold=2.0)
    x = np.array([[-1.0, 0.0, 0.24, 0.26, 0.74, 1.0, 1.9, 2.0, 5.0]], dtype=np.float32)
    y = np.asarray(layer(keras.ops.convert_to_tensor(x)))
    # step 0.5: floor(x * 2 + 1/2) / 2 clipped to [0, 2]
    np.testing.assert_allclose(y, [[0, 0, 0, 0.5, 0.5, 1.0, 2.0, 2.0, 2.0]])


def test_clip_floor_gradient_is_straight_through_and_trains_the_threshold():
    import tensorflow as tf

    from spikeforge.keras_layers import ClipFloor

    layer = ClipFloor(levels=4, initial_threshold=2.0)
    x = tf.constant([[-1.0, 0.3, 1.2, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x))
    dx, dlam = tape.gradient(total, [x, layer.threshold])
    np.testing.assert_allclose(dx.numpy(), [[0, 1, 1, 0]])  # d clip(x, 0, lambda) / dx
    assert float(dlam) == 1.0  # one input above the threshold


def test_rate_penalty_adds_the_mean_spike_rate_per_step_to_the_loss():
    import keras

    from spikeforge.keras_layers import ClipFloor

    x = keras.ops.convert_to_tensor(np.array([[-1.0, 0.26, 1.0, 5.0]], dtype=np.float32))
    layer = ClipFloor(levels=4, initial_threshold=2.0, rate_penalty=0.5)
    y = np.asarray(layer(x))  # 0, 0.5, 1, 2: rates 0, 1/4, 1/2, 1 of lambda = 2
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(0.5 * np.mean(y / 2.0))
    assert ClipFloor.from_config(layer.get_config()).rate_penalty == 0.5
    plain = ClipFloor(levels=4, initial_threshold=2.0)
    plain(x)
    assert plain.losses == []
    with pytest.raises(ValueError, match="rate_penalty"):
        ClipFloor(rate_penalty=-0.1)


def test_rate_penalty_trains_a_network_that_fires_less():
    import keras

    def mean_rate(penalty: float) -> float:
        keras.utils.set_random_seed(3)
        model = clip_floor_model(levels=4, threshold=1.0, seed=3, rate_penalty=penalty)
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 1, (256, 8, 8, 1)).astype(np.float32)
        y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(int)
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=64, epochs=5, verbose=0)
        hidden = keras.Model(model.inputs, model.layers[1].output)
        return float(np.mean(hidden.predict(x, verbose=0) / float(model.layers[1].threshold)))

    assert mean_rate(3.0) < 0.5 * mean_rate(0.0)


def test_train_cli_refuses_a_rate_penalty_without_clip_floor(tmp_path, capsys):
    args = ["train", "--arch", "mnist-cnn", "--dataset", "mnist", "--rate-penalty", "0.1"]
    assert main([*args, "--out", str(tmp_path / "m.keras")]) == 2
    assert "--rate-penalty 0.1 needs --activation clip-floor" in capsys.readouterr().err


def test_frontend_reads_the_clip_floor_and_numpy_matches_keras():
    model = clip_floor_model(levels=6, threshold=1.5, seed=1)
    graph = keras_to_graph(model)
    relu = graph.layers[1]
    assert isinstance(relu, ir.ReLU) and relu.spec == ir.Relu(cap=1.5, levels=6)
    images = random_images((8, 8, 1), 64, seed=2)
    np.testing.assert_allclose(
        predict(graph, images), keras_predict(model, images), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("levels", [2, 4, 8])
def test_first_layer_spike_counts_equal_the_quantized_activation_at_t_equal_l(levels):
    """Threshold = clip threshold, membrane from theta/2, reset by subtraction, analog input:
    after T = L steps each first-layer neuron has spiked floor(x L / lambda + 1/2) times
    (clipped to [0, L]), the ANN's clip-floor level, except within float rounding of a
    level boundary."""
    model = clip_floor_model(levels, threshold=1.2, seed=levels)
    graph = keras_to_graph(model)
    images = random_images((8, 8, 1), 200, seed=3)
    state = run_flow(
        graph, images, ConvertOptions(config=ir.SnnConfig(v_init="half", timesteps=levels))
    )
    assert state.scales[0] == pytest.approx(1.2)  # threshold balanced to the clip threshold
    result = simulate(state.float_net, images, levels, record_layers=True)
    conv = state.graph.layers[0]
    pre = np.concatenate(
        [
            acts[0]
            for acts in iter_activations(
                ir.AnnGraph(graph.input_shape, [ir.Conv2D(conv.name, conv.kernel, conv.bias)]),
                images,
            )
        ]
    )
    position = pre.astype(np.float64) * levels / 1.2 + 0.5
    expected = np.clip(np.floor(position), 0, levels)
    near_boundary = np.abs(position - np.round(position)) < 1e-4
    counts = result.layer_counts[0]
    assert np.array_equal(counts[~near_boundary], expected[~near_boundary])
    assert near_boundary.mean() < 0.01


def write_learnable_cifar(directory: Path, per_batch: int = 40) -> None:
    """CIFAR-10 python batches whose class sets the image brightness (learnable quickly)."""
    directory.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [*CIFAR_PY_TRAIN, "test_batch"]:
        labels = rng.integers(0, 10, per_batch)
        data = np.clip(labels[:, None] * 25 + rng.integers(0, 30, (per_batch, 3072)), 0, 255)
        blob = {b"data": data.astype(np.uint8), b"labels": [int(x) for x in labels]}
        (directory / name).write_bytes(pickle.dumps(blob))


def test_train_cli_clip_floor_and_cifar10_flow(tmp_path, capsys):
    """The paper's CIFAR-10 net through the same flow on files in the official format."""
    write_learnable_cifar(tmp_path / "cifar")
    model = tmp_path / "cifar.keras"
    assert (
        main(
            [
                "train",
                "--arch",
                "cifar10-cnn",
                "--dataset",
                f"cifar10:{tmp_path / 'cifar'}",
                "--out",
                str(model),
                "--epochs",
                "3",
                "--activation",
                "clip-floor",
                "--levels",
                "4",
                "--quiet",
            ]
        )
        == 0
    )
    out = tmp_path / "net"
    assert (
        main(
            [
                "convert",
                str(model),
                "--dataset",
                f"cifar10:{tmp_path / 'cifar'}",
                "--out",
                str(out),
                "--v-init",
                "half",
                "--timesteps",
                "4",
                "--quiet",
            ]
        )
        == 0
    )
    from spikeforge.netdir import load_int_network

    net = load_int_network(out)
    names = [layer.name for layer in net.layers]
    assert names == ["conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "fc1", "logits"]
    assert net.input_shape == (32, 32, 3) and net.layers[0].pads == (1, 1, 1, 1)
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                str(out),
                "--dataset",
                f"cifar10:{tmp_path / 'cifar'}",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    assert '"timesteps": 4' in capsys.readouterr().out
