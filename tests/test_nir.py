"""NIR in and out (docs/nir.md): export then import gives the same integer network and
the same spike counts; a network snnTorch wrote converts and the golden model's counts
equal snnTorch's own simulation where the documented mapping says they are exact; what
the core cannot run is refused node by node; an imported graph runs through HLS csim and
the RTL core with 0 mismatches."""

from __future__ import annotations

import itertools
import json
import warnings

import nir
import numpy as np
import pytest

from spikeforge import ir
from spikeforge.cli import main
from spikeforge.flow import ConvertOptions
from spikeforge.nirio.convert import convert_nir, inspect_nir, read_nir_model
from spikeforge.nirio.export import network_to_nir, write_nir
from spikeforge.simulator import simulate

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")


# --- spikeforge -> NIR -> spikeforge ---------------------------------------------------


def _layer(rng, name, kind, in_shape, out_shape, wshape, in_max, strides=(1, 1),
           pads=(0, 0, 0, 0)):
    weights = rng.integers(-127, 128, size=wshape)
    typical = np.clip(weights.reshape(-1, wshape[-1]), 0, None).sum(axis=0) * in_max // 4
    theta = np.clip(typical, 1, 65535)
    bias = (theta * rng.uniform(-0.2, 0.2, wshape[-1])).astype(np.int64)
    return ir.NeuronLayer(name, kind, in_shape, out_shape, weights, bias, theta, strides, pads)


def _pixel_cnn(rng, reset: str) -> ir.Network:
    """An MNIST-sized integer CNN: strided conv, same-padded conv, dense classes."""
    layers = [
        _layer(rng, "c1", "conv", (28, 28, 1), (12, 12, 6), (5, 5, 1, 6), 255, (2, 2)),
        _layer(rng, "c2", "conv", (12, 12, 6), (12, 12, 8), (3, 3, 6, 8), 1, (1, 1),
               (1, 1, 1, 1)),
        _layer(rng, "fc", "dense", (1152,), (10,), (1152, 10), 1),
    ]
    return ir.Network("cnn", (28, 28, 1), layers, ir.SnnConfig(reset=reset, timesteps=20),
                      ir.Formats())


def _sequence_net(rng, reset: str) -> ir.Network:
    """A Conv1D sequence classifier on signed 16-bit features."""
    fmt = ir.InputFormat(16, True, 300.0)
    layers = [
        _layer(rng, "c1", "conv", (1, 24, 2), (1, 11, 5), (1, 3, 2, 5), 30000, (1, 2)),
        _layer(rng, "fc", "dense", (55,), (4,), (55, 4), 1),
    ]
    return ir.Network("seq", (24, 2), layers, ir.SnnConfig(reset=reset, timesteps=24),
                      ir.Formats(bias_bits=24, membrane_bits=30, threshold_bits=24), fmt)


def _options(net: ir.Network, **given) -> ConvertOptions:
    return ConvertOptions(config=net.config, formats=net.formats, **given)


def _inputs(rng, net: ir.Network, count: int) -> np.ndarray:
    fmt = net.input_format
    return rng.integers(fmt.low, fmt.high + 1, size=(count, *net.input_shape)).astype(fmt.dtype)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("build", [_pixel_cnn, _sequence_net], ids=["cnn", "sequence"])
def test_export_then_import_gives_the_same_network_and_counts(build, reset, tmp_path):
    rng = np.random.default_rng(7)
    net = build(rng, reset)
    path = tmp_path / "net.nir"
    write_nir(network_to_nir(net), path)
    model = read_nir_model(path)
    assert model.reset == reset and model.input_format == net.input_format
    data = _inputs(rng, net, 64)
    back = convert_nir(model, data, _options(net))
    assert back.exact and back.int_net.input_format == net.input_format
    for a, b in zip(net.neuron_layers, back.int_net.neuron_layers, strict=True):
        assert (a.in_shape, a.out_shape, a.strides, a.pads) == (b.in_shape, b.out_shape,
                                                                 b.strides, b.pads)
        for field in ("weights", "bias", "threshold"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (a.name, field)
    want, got = simulate(net, data), simulate(back.int_net, data)
    assert want.counts.sum() > 0 and (want.counts < net.config.timesteps).any()
    assert np.array_equal(want.counts, got.counts)
    assert np.array_equal(want.membrane, got.membrane)


def test_the_cli_round_trip_on_mnist(tmp_path, capsys):
    """export-nir of a converted network, convert of the .nir: the same snn.json arrays and
    golden counts on MNIST test images; export-nir replaces its own file only."""
    from spikeforge.datasets import load_dataset
    from spikeforge.netdir import load_int_network, write_netdir

    rng = np.random.default_rng(11)
    net = _pixel_cnn(rng, "subtract")
    float_net = ir.Network(net.name, net.input_shape, [], net.config)
    float_net.layers = [ir.NeuronLayer(la.name, la.kind, la.in_shape, la.out_shape,
                                       la.weights / la.threshold, la.bias / la.threshold,
                                       np.ones(la.channels), la.strides, la.pads)
                        for la in net.neuron_layers]
    write_netdir(tmp_path / "net", net, float_net, None, {"model": "x", "weights": None,
                                                          "dataset": "mnist"})
    out = tmp_path / "net.nir"
    assert main(["export-nir", str(tmp_path / "net"), str(out)]) == 0
    assert main(["export-nir", str(tmp_path / "net"), str(out)]) == 0  # its own: replaced
    assert main(["inspect", str(out)]) == 0
    assert "converts: 3 IF layers" in capsys.readouterr().out
    assert main(["convert", str(out), "--dataset", "mnist", "--out", str(tmp_path / "back"),
                 "--calibration", "100", "--timesteps", "20", "--quiet"]) == 0
    back = load_int_network(tmp_path / "back")
    images = load_dataset("mnist", quiet=True).test_images[:100]
    assert np.array_equal(simulate(net, images).counts, simulate(back, images).counts)
    foreign = tmp_path / "foreign.nir"
    foreign.write_bytes(b"not ours")
    capsys.readouterr()
    assert main(["export-nir", str(tmp_path / "net"), str(foreign)]) == 2
    assert "not written by spikeforge" in capsys.readouterr().err
    assert foreign.read_bytes() == b"not ours"


def test_export_refuses_what_nir_cannot_hold(tmp_path):
    from spikeforge.nirio.export import NirExportError

    rng = np.random.default_rng(1)
    conv = _layer(rng, "c1", "conv", (8, 8, 1), (6, 6, 2), (3, 3, 1, 2), 255)
    gate = ir.PoolGate("pool", (6, 6, 2), (3, 3, 2), (2, 2), (2, 2))
    fc = _layer(rng, "fc", "dense", (18,), (3,), (18, 3), 1)
    net = ir.Network("g", (8, 8, 1), [conv, gate, fc], ir.SnnConfig(v_init="half"),
                     ir.Formats())
    with pytest.raises(NirExportError, match=r"'pool' is a max-pool gate.*initial membrane"):
        network_to_nir(net)


# --- a network snnTorch wrote ------------------------------------------------------------

EPS = 2.0**-20  # thresholds 1 - EPS: no membrane on the 2**-14 grid ever equals one
GRID = 2**14  # weights m / GRID with 16-bit m: the quantizer's threshold is GRID itself


def _snn_synapse(rng, nin: int, nout: int):
    m = rng.integers(-1500, 1500, size=(nout, nin))
    m[np.arange(nout), rng.integers(0, nin, nout)] = rng.choice([-1, 1], nout) * 32766
    linear = torch.nn.Linear(nin, nout)
    linear.weight.data = torch.tensor(m / GRID, dtype=torch.float32)
    linear.bias.data = torch.tensor(rng.integers(-300, 300, nout) / GRID, dtype=torch.float32)
    return linear


def _snn_neurons(n: int, reset: str, beta: float = 1.0):
    return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.full((n,), 1 - EPS),
                     reset_mechanism=reset, init_hidden=True)


def _snntorch_mlp(seed: int, reset: str, beta: float = 1.0):
    rng = np.random.default_rng(seed)
    return torch.nn.Sequential(_snn_synapse(rng, 64, 24), _snn_neurons(24, reset, beta),
                               _snn_synapse(rng, 24, 10), _snn_neurons(10, reset, beta))


def _export(module, path, shape=(64,)):
    from snntorch.export_nir import export_to_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # snnTorch divides by 1 - beta = 0 for tau
        nir.write(path, export_to_nir(module, torch.zeros(shape)))
    return path


def snntorch_counts(module, x: np.ndarray, steps: int) -> np.ndarray:
    """snnTorch's own simulation: the input as a constant current for ``steps`` steps, in
    float64 (exact on the test's weights), output spikes counted."""
    from snntorch import utils

    module = module.double()
    utils.reset(module)
    counts = torch.zeros(len(x), module[-1].threshold.numel(), dtype=torch.float64)
    current = torch.tensor(x, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(steps):
            h = current
            for layer in module:  # snnTorch's spikes are float32: the synapses read float64
                h = layer(h.double()) if isinstance(layer, torch.nn.Linear) else layer(h)
            counts += h
    return counts.numpy().astype(np.int64)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_snntorch_network_counts_equal_snntorchs_own(reset, tmp_path):
    module = _snntorch_mlp(3, reset)
    path = _export(module, tmp_path / "snntorch.nir")
    x = np.random.default_rng(5).integers(0, 3, size=(300, 64)).astype(np.float32)
    steps = 32
    options = ConvertOptions(config=ir.SnnConfig(timesteps=steps),
                             formats=ir.Formats(weight_bits=16), input_bits=8,
                             input_signed=False, input_scale=1.0)
    # snnTorch writes v_reset = 0 whatever its reset mechanism: subtraction is asked for
    result = convert_nir(read_nir_model(path), x, options, reset)
    assert not result.exact  # quantized, and the quantizer lands on the graph's own grid
    assert [int(t.max()) for t in (la.threshold for la in result.int_net.neuron_layers)] == [
        GRID, GRID]
    golden = simulate(result.int_net, result.int_net.input_format.encode(x), steps)
    reference = snntorch_counts(module, x, steps)
    assert golden.saturation.sum() == 0
    assert 0 < reference.mean() < steps and (reference == 0).any()
    assert np.array_equal(golden.counts, reference)


def test_snntorch_default_reset_is_what_nir_records(tmp_path):
    path = _export(_snntorch_mlp(4, "subtract"), tmp_path / "m.nir")
    assert read_nir_model(path).reset == "zero"  # NIR's IF resets to v_reset = 0
    assert "convert with --reset subtract" in inspect_nir(path).verdict


# --- refusals --------------------------------------------------------------------------


def _graph(nodes: dict, edges: list) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _affine(nin: int, nout: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return nir.Affine(weight=rng.normal(size=(nout, nin)), bias=np.zeros(nout))


def _if(n: int, reset: float = 0.0):
    return nir.IF(r=np.ones(n), v_threshold=np.ones(n), v_reset=np.full(n, reset))


def test_leaky_snntorch_network_is_refused_by_name(tmp_path, capsys):
    path = _export(_snntorch_mlp(2, "subtract", beta=0.9), tmp_path / "leaky.nir")
    assert main(["inspect", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.count("refused: a leaky neuron (finite tau)") == 2  # both LIF rows
    assert "refused: 2 problems" in out
    assert main(["convert", str(path), "--dataset", "mnist", "--out", str(tmp_path / "n"),
                 "--quiet"]) == 2
    assert "node '1' (LIF): a leaky neuron" in capsys.readouterr().err


def test_every_node_is_listed_with_each_refusal(tmp_path, capsys):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc1": _affine(4, 3),
        "if1": _if(3, reset=0.5),
        "delay": nir.Delay(delay=np.ones(3)),
        "fc2": _affine(3, 3, 1),
        "cuba": nir.CubaLIF(tau_syn=np.ones(3), tau_mem=np.ones(3), r=np.ones(3),
                            v_leak=np.zeros(3), v_threshold=np.ones(3)),
        "fc3": _affine(3, 2, 2),
        "if3": _if(2),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    chain = list(nodes)
    edges = [*itertools.pairwise(chain), ("if3", "fc3")]  # the last edge is recurrent
    path = tmp_path / "bad.nir"
    nir.write(path, _graph(nodes, edges))
    report = inspect_nir(path)
    assert [row.name for row in report.rows] == chain
    refused = {row.name: row.maps_to for row in report.rows if row.refused}
    assert set(refused) == {"if1", "delay", "cuba", "if3"}
    assert "v_reset other than 0" in refused["if1"]
    assert "a synaptic delay" in refused["delay"]
    assert "current-based leaky neuron" in refused["cuba"]
    assert "recurrent edge if3 -> fc3" in refused["if3"]
    assert main(["convert", str(path), "--dataset", "mnist", "--out", str(tmp_path / "n"),
                 "--quiet"]) == 2
    assert "recurrent edge if3 -> fc3" in capsys.readouterr().err


def test_a_file_that_is_not_nir_is_refused(tmp_path, capsys):
    path = tmp_path / "x.nir"
    path.write_text("hello")
    assert main(["inspect", str(path)]) == 2
    assert "is not a NIR graph" in capsys.readouterr().err


# --- pooling and flatten fold into the next synapse --------------------------------------


def _nir_reference(nodes: dict, chain: list, x: np.ndarray, steps: int) -> np.ndarray:
    """NIR's IF (``v += r I``) over ``steps`` unit steps with the spec's firing rule
    (v >= threshold, reset by subtraction), each node applied as written (channel-first):
    the reference for the folds."""
    fn = torch.nn.functional
    state: dict[str, torch.Tensor] = {}
    counts = 0
    for _ in range(steps):
        h = torch.tensor(x, dtype=torch.float64)
        for name in chain[1:-1]:
            node = nodes[name]
            w = torch.tensor(np.asarray(getattr(node, "weight", 0.0)), dtype=torch.float64)
            if isinstance(node, nir.Conv2d):
                h = fn.conv2d(h, w, torch.tensor(node.bias), tuple(node.stride),
                              tuple(node.padding))
            elif isinstance(node, nir.Affine):
                h = h @ w.T + torch.tensor(node.bias)
            elif isinstance(node, nir.Linear):
                h = h @ w.T
            elif isinstance(node, nir.Scale):
                h = h * torch.tensor(node.scale)
            elif isinstance(node, nir.Flatten):
                h = h.reshape(len(h), -1)
            elif isinstance(node, nir.SumPool2d):
                h = fn.avg_pool2d(h, tuple(node.kernel_size)) * np.prod(node.kernel_size)
            elif isinstance(node, nir.AvgPool2d):
                h = fn.avg_pool2d(h, tuple(node.kernel_size))
            elif isinstance(node, nir.IF):
                theta = torch.tensor(node.v_threshold)
                v = state.get(name, 0) + torch.tensor(node.r) * h
                h = (v >= theta).double()
                state[name] = v - h * theta
        counts = counts + h
    return counts.numpy().astype(np.int64)


def _pool(kind, k: int):
    return kind(kernel_size=np.array([k, k]), stride=np.array([k, k]), padding=np.array([0, 0]))


def test_pooling_and_flatten_fold_into_the_next_synapse(tmp_path):
    """Sum- and average-pooled spikes (with rows the windows leave out) read by a conv and,
    through a channel-first Flatten, by a dense synapse: the folded layers count the same
    spikes as the graph run node by node."""
    rng = np.random.default_rng(9)

    def conv(cout, cin, k, side):
        weight = rng.integers(-8, 9, (cout, cin, k, k)) * 1.0
        return nir.Conv2d(input_shape=(side, side), weight=weight, stride=1, padding=0,
                          dilation=1, groups=1, bias=rng.integers(-2, 3, cout) * 1.0)

    def neurons(shape, theta):
        return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, theta))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 19, 19])}),
        "c1": conv(3, 2, 3, 19), "if1": neurons((3, 17, 17), 20.0),
        "sum": _pool(nir.SumPool2d, 2),  # 17x17 -> 8x8: the last row and column are left out
        "c2": conv(4, 3, 2, 8), "if2": neurons((4, 7, 7), 12.0),
        "avg": _pool(nir.AvgPool2d, 2),  # 7x7 -> 3x3, each spike worth a quarter
        "flat": nir.Flatten(input_type={"input": np.array([4, 3, 3])}, start_dim=0),
        "fc": nir.Affine(weight=4.0 * rng.integers(-3, 4, (5, 36)), bias=np.zeros(5)),
        "if3": neurons(5, 2.0),
        "output": nir.Output(output_type={"output": np.array([5])}),
    }
    chain = list(nodes)
    path = tmp_path / "pool.nir"
    nir.write(path, _graph(nodes, list(itertools.pairwise(chain))))
    x = rng.integers(0, 4, size=(40, 2, 19, 19)).astype(np.float64)
    steps = 12
    model = read_nir_model(path)
    assert not model.problems, model.problems
    options = ConvertOptions(config=ir.SnnConfig(timesteps=steps), input_bits=8,
                             input_signed=False, input_scale=1.0)
    ints = np.moveaxis(x, 1, -1)  # the IR's (H, W, C)
    result = convert_nir(model, ints, options, "subtract")
    assert result.exact
    golden = simulate(result.int_net, result.int_net.input_format.encode(ints), steps)
    reference = _nir_reference(nodes, chain, x, steps)
    assert 0 < reference.sum() < reference.size * steps
    assert np.array_equal(golden.counts, reference)


def test_r_and_a_scale_of_the_current_multiply_the_synapse(tmp_path):
    rng = np.random.default_rng(4)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([6])}),
        "lin": nir.Linear(weight=rng.integers(-5, 6, (4, 6)) * 1.0),
        "scale": nir.Scale(scale=np.array([1.0, 2.0, 1.0, 3.0])),
        "if1": nir.IF(r=np.array([2.0, 1.0, 1.0, 2.0]), v_threshold=np.full(4, 7.0)),
        "fc": nir.Affine(weight=rng.integers(-5, 6, (3, 4)) * 1.0, bias=np.array([1.0, 0, -1])),
        "if2": nir.IF(r=np.full(3, 3.0), v_threshold=np.full(3, 4.0)),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    chain = list(nodes)
    path = tmp_path / "scaled.nir"
    nir.write(path, _graph(nodes, list(itertools.pairwise(chain))))
    x = rng.integers(0, 5, size=(60, 6)).astype(np.float64)
    options = ConvertOptions(config=ir.SnnConfig(timesteps=10), input_bits=8,
                             input_signed=False, input_scale=1.0)
    result = convert_nir(read_nir_model(path), x, options, "subtract")
    first = result.int_net.neuron_layers[0]
    assert result.exact
    assert np.array_equal(first.weights, nodes["lin"].weight.T * [2, 2, 1, 6])
    golden = simulate(result.int_net, result.int_net.input_format.encode(x), 10)
    reference = _nir_reference(nodes, chain, x, 10)
    assert 0 < reference.sum() < reference.size * 10
    assert np.array_equal(golden.counts, reference)


# --- an imported graph through HLS csim and the RTL core -------------------------------


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("nir_e2e")
    _export(_snntorch_mlp(3, "subtract"), root / "m.nir")
    rng = np.random.default_rng(8)
    x = rng.integers(0, 3, size=(120, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=120)
    np.savez(root / "data.npz", x_train=x[:80], y_train=y[:80], x_test=x[80:], y_test=y[80:])
    assert main(["convert", str(root / "m.nir"), "--dataset", str(root / "data.npz"),
                 "--out", str(root / "net"), "--reset", "subtract", "--weight-bits", "16",
                 "--input-bits", "8", "--no-input-signed", "--input-scale", "1",
                 "--timesteps", "16", "--quiet"]) == 0
    return root


def test_imported_network_records_how_it_was_made(imported):
    conversion = json.loads((imported / "net" / "conversion.json").read_text())
    assert conversion["source"] == "nir" and conversion["reset"] == "subtract"


def test_normalization_options_are_refused_for_a_nir_graph(imported, tmp_path, capsys):
    assert main(["convert", str(imported / "m.nir"), "--dataset", str(imported / "data.npz"),
                 "--out", str(tmp_path / "n"), "--norm", "max", "--quiet"]) == 2
    assert "brings its own thresholds" in capsys.readouterr().err


def test_a_nir_network_has_no_ann_to_evaluate(imported, capsys):
    data = str(imported / "data.npz")
    assert main(["evaluate", str(imported / "net"), "--dataset", data, "--backend", "ann",
                 "--quiet"]) == 2
    assert "is a NIR graph: a spiking network already" in capsys.readouterr().err
    assert main(["evaluate", str(imported / "net"), "--dataset", data, "--backend", "golden",
                 "--json", "--quiet"]) == 0


@pytest.mark.csim
def test_imported_nir_hls_csim_equals_the_golden_model(imported, tmp_path, capsys):
    assert main(["hls", str(imported / "net"), "--dataset", str(imported / "data.npz"),
                 "--images", "40", "--out", str(tmp_path / "hls"), "--quiet"]) == 0
    assert " 0 mismatches" in capsys.readouterr().out


@pytest.mark.rtl
def test_imported_nir_rtl_equals_the_golden_model(imported, tmp_path, capsys):
    assert main(["sim", str(imported / "net"), "--dataset", str(imported / "data.npz"),
                 "--images", "12", "--build-dir", str(tmp_path / "rtl"), "--json",
                 "--quiet"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["mismatched_images"] == 0 and figures["saturation_equal"]
