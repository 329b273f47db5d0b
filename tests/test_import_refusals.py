"""One test per refusal: a layer or setting the spiking network cannot express is refused
with a message that names the layer, its setting and the fix; bad files name the file."""

from __future__ import annotations

import json

import pytest

from import_models import functional
from keras2_files import write_keras2
from keras_builders import sequential
from spikeforge.flow import GRAPH_STEPS, ConversionState, ConvertOptions
from spikeforge.frontend import ModelFileError, UnsupportedLayerError
from spikeforge.frontend.graph import load_graph


def convert_graph(files) -> None:
    """Read the Keras 2 files and run every graph pass (what convert does before data)."""
    state = ConversionState(graph=load_graph(files.json, files.weights), calibration=None)
    for _name, step in GRAPH_STEPS:
        state = step(state, ConvertOptions())


def _layers():
    from keras import layers

    return layers


def refused(tmp_path, layer_list, match: str, input_shape=(8, 8, 1), overrides=None,
            model=None, is_functional=False) -> UnsupportedLayerError:
    model = model if model is not None else sequential(input_shape, layer_list)
    files = write_keras2(model, tmp_path, functional=is_functional, overrides=overrides)
    with pytest.raises(UnsupportedLayerError, match=match) as info:
        convert_graph(files)
    return info.value


# --- layers and settings the frontend refuses -------------------------------------------


def test_unknown_layer_type(tmp_path):
    L = _layers()
    err = refused(tmp_path, [L.Conv2D(2, 3, name="c"), L.LeakyReLU(name="lrelu"), L.Flatten(),
                             L.Dense(2)], r"layer 'lrelu' \(LeakyReLU\) is not supported")
    assert err.layer == "lrelu"


def test_lambda_layer(tmp_path):
    L = _layers()
    err = refused(tmp_path, [L.Conv2D(2, 3, name="c"), L.Lambda(lambda x: 2 * x, name="double"),
                             L.Flatten(), L.Dense(2)],
                  r"'double' \(Lambda\): Python code in a Lambda layer is not supported; "
                  r"remove or replace the Lambda layer 'double' with standard layers")
    assert err.layer == "double"


def test_dilated_convolution(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, dilation_rate=2, name="dil"), L.Flatten(), L.Dense(2)],
            r"'dil' \(Conv2D\): dilation_rate=\[2, 2\] is not supported; use dilation 1")


def test_grouped_convolution(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, name="c0"), L.Conv2D(4, 3, groups=2, name="grp"),
                       L.Flatten(), L.Dense(2)], r"'grp' \(Conv2D\): groups=2", (8, 8, 1))


def test_channels_first(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, name="cf"), L.Flatten(), L.Dense(2)],
            r"'cf' \(Conv2D\): data_format='channels_first'.*use channels_last",
            overrides={"cf": {"data_format": "channels_first"}})


def test_activation_without_spiking_equivalent(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Flatten(), L.Dense(4, activation="tanh", name="th"), L.Dense(2)],
            r"'th' \(Dense\): activation 'tanh' has no integrate-and-fire equivalent")


def test_leaky_relu_settings(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3), L.ReLU(negative_slope=0.1, name="leaky"), L.Flatten(),
                       L.Dense(2)], r"'leaky' \(ReLU\): negative_slope=0.1")


def test_thresholded_relu(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3), L.ReLU(threshold=0.5, name="thr"), L.Flatten(),
                       L.Dense(2)], r"'thr' \(ReLU\): negative_slope=0.0, threshold=0.5")


def test_reshape_between_spiking_layers(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu", name="c1"),
                       L.Reshape((12, 6, 1), name="rs"), L.Conv2D(2, 3, activation="relu",
                                                                  name="c2"),
                       L.Flatten(), L.Dense(2)],
            r"'rs' \(Reshape\): relabelling the output \(6, 6, 2\) of 'c1' as \(12, 6, 1\) "
            r"for 'c2' is not supported; .*reshape only to flatten before a Dense layer")


def test_reshape_after_a_dense_layer_into_a_convolution(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Flatten(name="f"), L.Dense(16, activation="relu", name="d1"),
                       L.Reshape((16, 1), name="rs"), L.Conv1D(2, 3, activation="relu"),
                       L.Flatten(), L.Dense(2)],
            r"'rs' \(Reshape\): relabelling the output \(16,\) of 'd1' as \(1, 16, 1\)")


def test_reshape_of_another_size(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Reshape((64,), name="rs"), L.Dense(2)],
            r"'rs' \(Reshape\): target_shape=\(5, 5, 2\) from \(8, 8, 1\) \(64 elements\).*"
            r"give a target shape of 64 elements", overrides={"rs": {"target_shape": [5, 5, 2]}})


def test_reshape_to_rank_four(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Reshape((2, 2, 4, 4), name="rs4"), L.Flatten(), L.Dense(2)],
            r"'rs4' \(Reshape\): target_shape=\(2, 2, 4, 4\) from \(8, 8, 1\) \(rank 4\)")


def test_permute_moves_elements(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Permute((2, 1, 3), name="swap"), L.Flatten(), L.Dense(2)],
            r"'swap' \(Permute\): Permute \(it moves elements: a transpose.*transpose the data")


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_recurrent_layers(tmp_path, kind):
    L = _layers()
    refused(tmp_path, [getattr(L, kind)(4, name="rnn"), L.Dense(2)],
            rf"'rnn' \({kind}\): a recurrent layer .* is not supported; model the sequence "
            "with Conv1D", input_shape=(10, 3))


def test_time_distributed(tmp_path):
    L = _layers()
    refused(tmp_path, [L.TimeDistributed(L.Dense(4), name="td"), L.Flatten(), L.Dense(2)],
            r"'td' \(TimeDistributed\).*use Conv1D\(units, 1\)", input_shape=(10, 3))


def test_garnet(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Dense(4, name="gn"), L.Flatten(), L.Dense(2)],
            r"'gn' \(GarNet\): a GarNet graph layer", input_shape=(10, 3),
            overrides={"gn": {"class_name": "GarNet"}})


@pytest.mark.parametrize("quantizer", ["binary(alpha=1)", "ternary()", "binary_tanh"])
def test_binary_and_ternary_activations(tmp_path, quantizer):
    L = _layers()
    name = quantizer.split("(")[0]
    refused(tmp_path, [L.Dense(4, name="d"), L.Activation("relu", name="q"), L.Dense(2)],
            rf"'q' \(QActivation\): activation '{name}.*has no integrate-and-fire equivalent",
            input_shape=(6,), overrides={"q": {"class_name": "QActivation",
                                               "activation": quantizer}})


def test_dilated_conv1d(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv1D(2, 3, dilation_rate=2, name="dil1"), L.Flatten(), L.Dense(2)],
            r"'dil1' \(Conv1D\): dilation_rate=\[2\] is not supported; use dilation 1",
            input_shape=(12, 2))


def test_conv1d_channels_first(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv1D(2, 3, name="cf1"), L.Flatten(), L.Dense(2)],
            r"'cf1' \(Conv1D\): data_format='channels_first'.*use channels_last",
            input_shape=(12, 2), overrides={"cf1": {"data_format": "channels_first"}})


def test_sequence_layer_on_an_image(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu"), L.GlobalAveragePooling2D(name="g"),
                       L.Dense(2)],
            r"'g' \(GlobalAveragePooling1D\): an input of shape \(6, 6, 2\) is not supported; "
            r"it reads a sequence", overrides={"g": {"class_name": "GlobalAveragePooling1D"}})


def test_padded_average_pooling_1d(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv1D(2, 3, activation="relu"), L.AveragePooling1D(
        2, padding="same", name="avg1"), L.Flatten(), L.Dense(2)],
        r"'avg1' \(AveragePooling1D\): padding='same' with a partial window", (11, 1))


def test_sigmoid_in_a_hidden_layer(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Dense(4, activation="sigmoid", name="hid"), L.Dense(2)],
            r"'hid/sigmoid' \(sigmoid\): a sigmoid before the output layer.*use 'relu'",
            input_shape=(6,))


def test_one_unit_linear_output(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Dense(4, activation="relu"), L.Dense(1, name="score")],
            r"'score' \(Dense\): an output of one unit .*Dense\(1, activation='sigmoid'\)",
            input_shape=(6,))


def test_batchnorm_on_another_axis(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, name="c"), L.BatchNormalization(axis=1, name="bn_h"),
                       L.ReLU(), L.Flatten(), L.Dense(2)],
            r"'bn_h' \(BatchNormalization\): axis=\[1\] .*normalize the last")


def test_softmax_on_another_axis(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, name="c"), L.Softmax(axis=1, name="sm1"), L.Flatten(),
                       L.Dense(2)], r"'sm1' \(Softmax\): axis=1")


def test_branch_that_merges(tmp_path):
    import keras

    L = _layers()
    inputs = keras.Input((8, 8, 1), name="image")
    a = L.Conv2D(2, 3, name="left")(inputs)
    b = L.Conv2D(2, 3, name="right")(inputs)
    merged = L.Add(name="merge")([a, b])
    model = keras.Model(inputs, L.Dense(2, name="out")(L.Flatten(name="f")(merged)))
    refused(tmp_path, [], r"'merge' \(Add\): it takes 2 inputs", model=model,
            is_functional=True)


def test_shared_layer(tmp_path):
    import keras

    L = _layers()
    inputs = keras.Input((8, 8, 2), name="image")
    shared = L.Conv2D(2, 1, activation="relu", name="shared")
    x = shared(shared(inputs))
    model = keras.Model(inputs, L.Dense(2, name="out")(L.Flatten(name="f")(x)))
    refused(tmp_path, [], r"'shared' \(Conv2D\): a layer shared by 2 calls", model=model,
            is_functional=True)


def test_nested_model(tmp_path):
    import keras

    L = _layers()
    inner = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3)], name="block")
    inputs = keras.Input((8, 8, 1), name="image")
    model = keras.Model(inputs, L.Dense(2, name="out")(L.Flatten(name="f")(inner(inputs))))
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedLayerError, match=r"'block' \(Sequential\): a model nested"):
        load_graph(tmp_path / "m.keras")


def test_two_outputs(tmp_path):
    import keras

    L = _layers()
    inputs = keras.Input((8, 8, 1), name="image")
    x = L.Flatten(name="f")(inputs)
    model = keras.Model(inputs, [L.Dense(2, name="a")(x), L.Dense(3, name="b")(x)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedLayerError, match=r"1 inputs and 2 outputs"):
        load_graph(tmp_path / "m.keras")


def test_unsized_input(tmp_path):
    L = _layers()
    model = functional((None, None, 1), [L.Conv2D(2, 3, name="c"), L.GlobalMaxPooling2D()])
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedLayerError, match=r"input shape \(None, None, 1\)"):
        load_graph(tmp_path / "m.keras")


def test_input_of_rank_four(tmp_path):
    L = _layers()
    model = sequential((2, 3, 4, 2), [L.Flatten(), L.Dense(2, name="d")])
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedLayerError, match=r"input shape \(2, 3, 4, 2\): spikeforge "
                       r"reads feature vectors \(N,\), sequences .*reshape the data"):
        load_graph(tmp_path / "m.keras")


def test_two_inputs(tmp_path):
    import keras

    L = _layers()
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    joined = L.Concatenate(name="join")([a, b])
    model = keras.Model([a, b], L.Dense(2, name="out")(joined))
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedLayerError, match=r"2 inputs and 1 outputs: spikeforge "
                       r"converts models with one input"):
        load_graph(tmp_path / "m.keras")


def test_subclassed_model_class(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"class_name": "MyNet", "config": {"name": "n"}}))
    with pytest.raises(UnsupportedLayerError, match=r"'n' is a MyNet.*Functional"):
        load_graph(tmp_path / "m.json", tmp_path / "missing.h5")


# --- refused by the conversion passes -----------------------------------------------------


def test_batchnorm_before_zero_padded_conv(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu", name="c1"),
                       L.BatchNormalization(name="bn_pad"),
                       L.Conv2D(2, 3, padding="same", name="padded"), L.Flatten(), L.Dense(2)],
            r"'bn_pad' \(BatchNormalization\): folding into the zero-padded convolution "
            r"'padded'.*use padding='valid'")


def test_batchnorm_with_negative_scale_before_maxpool(tmp_path):
    L = _layers()
    model = sequential((8, 8, 1), [L.Conv2D(3, 3, activation="relu", name="c1"),
                                   L.BatchNormalization(name="bn_neg"),
                                   L.MaxPooling2D(2, name="mp"), L.Flatten(), L.Dense(2)])
    gamma, beta, mean, var = model.get_layer("bn_neg").get_weights()
    gamma[:] = [1.0, -0.5, 2.0]
    model.get_layer("bn_neg").set_weights([gamma, beta, mean, var])
    refused(tmp_path, [], r"'bn_neg' \(BatchNormalization\).*max-pool 'mp', with a negative "
            "scale", model=model)


def test_batchnorm_at_the_output(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Flatten(), L.Dense(4, activation="relu", name="d"),
                       L.BatchNormalization(name="bn_last")],
            r"'bn_last' \(BatchNormalization\): its position \(after 'd/relu', before the "
            "output")


def test_padded_average_pooling(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu"), L.AveragePooling2D(
        2, padding="same", name="avg_same"), L.Flatten(), L.Dense(2)],
        r"'avg_same' \(AveragePooling2D\): padding='same' with a partial window", (9, 9, 1))


def test_softmax_in_a_hidden_layer(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Flatten(), L.Dense(4, activation="softmax", name="sm"), L.Dense(2)],
            r"'sm/softmax' \(Softmax\): a softmax before the output layer")


def test_hidden_layer_without_relu(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Flatten(), L.Dense(4, name="linear"), L.Dense(2)],
            r"'linear' \(Dense\): a hidden layer without ReLU")


def test_relu_on_the_input(tmp_path):
    L = _layers()
    refused(tmp_path, [L.ReLU(name="r0"), L.Flatten(), L.Dense(2)],
            r"'r0' \(ReLU\): a ReLU on the input")


def test_pooling_on_the_input(tmp_path):
    L = _layers()
    refused(tmp_path, [L.MaxPooling2D(2, name="mp0"), L.Flatten(), L.Dense(2)],
            r"'mp0' \(MaxPool\): a pooling layer on the input")


def test_dense_on_a_feature_map(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu"), L.Dense(2, name="dense_on_map")],
            r"'dense_on_map' \(Dense\).*add a Flatten")


def test_output_that_is_not_dense(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu"), L.Flatten(name="flat_end")],
            r"'flat_end' \(Flatten\): an output layer that is not Dense")


def test_two_clipping_activations(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu6", name="c"), L.ReLU(max_value=2.0,
                                                                             name="r2"),
                       L.Flatten(), L.Dense(2)],
            r"'r2' \(ReLU\): a second clipping activation after 'c'")


# --- files ----------------------------------------------------------------------------


@pytest.fixture
def k2_files(tmp_path):
    L = _layers()
    return write_keras2(sequential((8, 8, 1), [L.Flatten(name="f"), L.Dense(2, name="d")]),
                        tmp_path / "k2")


def test_json_without_weights(k2_files):
    with pytest.raises(ModelFileError, match=r"architecture without weights: .*--weights"):
        load_graph(k2_files.json)


def test_weights_for_a_full_model(k2_files):
    with pytest.raises(ModelFileError, match=r"--weights is for JSON architectures"):
        load_graph(k2_files.full, k2_files.weights)


def test_weights_file_given_as_the_model(k2_files):
    with pytest.raises(ModelFileError, match=r"holds weights only .*--weights"):
        load_graph(k2_files.weights)


def test_weights_of_another_model(k2_files, tmp_path):
    L = _layers()
    other = write_keras2(sequential((8, 8, 1), [L.Flatten(name="f"), L.Dense(2, name="x")]),
                         tmp_path / "other")
    with pytest.raises(ModelFileError, match=r"layer 'd' \(Dense\) has no 'kernel' weight"):
        load_graph(k2_files.json, other.weights)


def test_unknown_file_type(tmp_path):
    (tmp_path / "m.pt").write_bytes(b"\0")
    with pytest.raises(ModelFileError, match=r"unknown model file type '.pt'"):
        load_graph(tmp_path / "m.pt")


def test_h5_that_is_not_keras(tmp_path):
    import h5py

    with h5py.File(tmp_path / "x.h5", "w") as h5:
        h5["data"] = [1, 2]
    with pytest.raises(ModelFileError, match=r"holds weights only|not a Keras model"):
        load_graph(tmp_path / "x.h5")
