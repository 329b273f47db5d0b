"""Imported models (Keras 2 files, functional graphs, 'same' padding and strides, QKeras)
flow unchanged into the HLS C simulation and the RTL core: == the golden model."""

from __future__ import annotations

import numpy as np
import pytest

from import_models import QUANT, build, qkeras_style_model
from keras2_files import write_keras2
from keras_builders import random_images
from spikeforge import ir
from spikeforge.flow import ConvertOptions, run_flow
from spikeforge.frontend.graph import load_graph
from spikeforge.verify import compare, golden

CSIM_MODELS = ("same_stride2_odd_input", "maxpool_same_strided", "batchnorm_before_maxpool",
               "dropout_reshape_functional", "qkeras")
RTL_MODELS = ("maxpool_same_strided", "qkeras")
TIMESTEPS = 15


def _imported_network(name: str, directory) -> ir.Network:
    """The integer network of a model read back from the Keras 2 / QKeras files."""
    if name == "qkeras":
        model, functional, overrides = qkeras_style_model(), False, QUANT
        config = ir.SnnConfig(v_init="half", timesteps=TIMESTEPS)
    else:
        (model, functional), overrides, config = build(name), None, ir.SnnConfig()
    files = write_keras2(model, directory, functional=functional, overrides=overrides)
    graph = load_graph(files.json, files.weights)
    shape = tuple(graph.input_shape)
    state = run_flow(graph, random_images(shape, 128, seed=2), ConvertOptions(config=config))
    return state.int_net


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    root = tmp_path_factory.mktemp("imported")
    return {name: _imported_network(name, root / name) for name in CSIM_MODELS}


def _images(net: ir.Network) -> np.ndarray:
    images = random_images(net.input_shape, 24, seed=9)
    images[:4] = 0  # blank images too: only the biases drive the first layer
    return images


@pytest.mark.csim
@pytest.mark.parametrize("name", CSIM_MODELS)
def test_hls_csim_equals_golden(networks, name, tmp_path_factory):
    from spikeforge.hls import run_csim

    net = networks[name]
    images = _images(net)
    result = run_csim(net, images, TIMESTEPS, tmp_path_factory.mktemp(f"csim-{name}"))
    comparison = compare(result, golden(net, images, TIMESTEPS))
    assert comparison.ok, comparison.describe()


@pytest.mark.rtl
@pytest.mark.parametrize("name", RTL_MODELS)
def test_rtl_equals_golden(networks, name, tmp_path_factory):
    try:
        from spikeforge.rtl.runner import run_rtl
    except ImportError as err:  # the RTL backend is being written alongside
        pytest.skip(f"the RTL runner is not available: {err}")
    net = networks[name]
    images = _images(net)
    result = run_rtl(net, images, TIMESTEPS, root=tmp_path_factory.mktemp(f"rtl-{name}"))
    comparison = compare(result, golden(net, images, TIMESTEPS))
    assert comparison.ok, comparison.describe()
