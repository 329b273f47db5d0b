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


def test_reshape_to_a_feature_map(tmp_path):
    L = _layers()
    refused(tmp_path, [L.Conv2D(2, 3, activation="relu"), L.Reshape((12, 6, 1), name="rs"),
                       L.Flatten(), L.Dense(2)],
            r"'rs' \(Reshape\): target_shape=\(12, 6, 1\).*only reshaping to a flat vector")


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


def test_flat_input(tmp_path):
    L = _layers()
    model = sequential((64,), [L.Dense(2, name="d")])
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedLayerError, match=r"expects images \(height, width"):
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
    (tmp_path / "m.onnx").write_bytes(b"\0")
    with pytest.raises(ModelFileError, match=r"unknown model file type '.onnx'"):
        load_graph(tmp_path / "m.onnx")


def test_h5_that_is_not_keras(tmp_path):
    import h5py

    with h5py.File(tmp_path / "x.h5", "w") as h5:
        h5["data"] = [1, 2]
    with pytest.raises(ModelFileError, match=r"holds weights only|not a Keras model"):
        load_graph(tmp_path / "x.h5")
