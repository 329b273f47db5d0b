"""Small PyTorch and Brevitas models exported to ONNX / QONNX for the frontend tests.

Every builder returns an eval-mode ``torch.nn.Module`` and its input shape (batch first,
channels first). :func:`export` writes it with ``torch.onnx.export`` (the TorchScript
exporter, ``dynamo=False``, or the dynamo one); :func:`export_brevitas` with Brevitas'
``export_qonnx``. :func:`onnx_reference` runs a file with onnxruntime, :func:`nhwc` turns
channels-first data into the channels-last data spikeforge reads.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def _seeded():
    """torch.nn, with torch's random generator seeded."""
    import torch

    torch.manual_seed(0)
    return torch.nn


def _randomize_bn(module) -> None:
    """Give every BatchNorm non-trivial statistics (a fresh one is the identity)."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n) * 0.3)
            m.running_var.copy_(torch.rand(n) + 0.5)
            m.weight.data.copy_(torch.rand(n) + 0.5)
            m.bias.data.copy_(torch.randn(n) * 0.2)


def cnn2d():
    """Padded and strided convolutions, BatchNorm, both pools, Flatten of a 6-channel map."""
    nn = _seeded()
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(6 * 2 * 2, 5), nn.Softmax(dim=1))
    _randomize_bn(model)
    return model.eval(), (1, 2, 16, 16)


def conv1d():
    """Conv1d with padding and stride, BatchNorm1d, 1-D pools, Flatten and Linear."""
    nn = _seeded()
    model = nn.Sequential(
        nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(4, 5, 3, stride=2), nn.ReLU(), nn.AvgPool1d(2, count_include_pad=False),
        nn.Flatten(), nn.Linear(5 * 1, 3))
    _randomize_bn(model)
    return model.eval(), (1, 3, 12)


def gap():
    """A global average pool (AdaptiveAvgPool2d(1)) and a sigmoid output."""
    nn = _seeded()
    model = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(5, 4), nn.Sigmoid())
    return model.eval(), (1, 3, 8, 8)


def mlp():
    """Linear without bias (MatMul), BatchNorm1d, ReLU6 (Clip), Identity."""
    nn = _seeded()
    model = nn.Sequential(nn.Linear(10, 12, bias=False), nn.BatchNorm1d(12), nn.ReLU6(),
                          nn.Identity(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    _randomize_bn(model)
    return model.eval(), (1, 10)


def forward_view():
    """A hand-written forward: torch.clamp(x, 0, 2), x.view(x.size(0), -1), F.linear."""
    import torch

    nn = _seeded()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)
            self.fc = nn.Linear(3 * 6 * 6, 4)

        def forward(self, x):
            x = torch.clamp(self.conv(x), 0, 2)
            return self.fc(x.view(x.size(0), -1))

    return Net().eval(), (1, 2, 6, 6)


def unflatten():
    """A feature vector relabelled as a one-channel image (x.view(-1, 1, 8, 8))."""
    import torch

    nn = _seeded()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 3, 3)
            self.fc = nn.Linear(3 * 6 * 6, 2)

        def forward(self, x):
            x = torch.relu(self.conv(x.view(-1, 1, 8, 8)))
            return self.fc(torch.flatten(x, 1))

    return Net().eval(), (1, 64)


BUILDERS = {"cnn2d": cnn2d, "conv1d": conv1d, "gap": gap, "mlp": mlp,
            "forward_view": forward_view, "unflatten": unflatten}


def export(model, shape: tuple[int, ...], path: Path, dynamo: bool = False,
           folding: bool = True, dynamic_batch: bool = False) -> Path:
    """``model`` written with ``torch.onnx.export``."""
    import torch

    kwargs = {"dynamo": dynamo}
    if not dynamo:
        kwargs["do_constant_folding"] = folding
        if dynamic_batch:
            kwargs.update(input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(*shape),), str(path), verbose=False, **kwargs)
    return path


def export_brevitas(model, shape: tuple[int, ...], path: Path, dynamo: bool = True) -> Path:
    """A Brevitas model written as QONNX (``brevitas.export.export_qonnx``; with torch 2.13
    its default is the dynamo exporter, ``dynamo=False`` the TorchScript one)."""
    import torch
    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, torch.rand(*shape), str(path), dynamo=dynamo)
    return path


def onnx_reference(path: Path, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for the batch ``x`` (channels first)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    if session.get_inputs()[0].shape[0] == 1:  # exported with a batch of one
        return np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])
    return session.run(None, {name: x})[0]


def nhwc(x: np.ndarray) -> np.ndarray:
    """Channels-first data (N, C, ...) as channels-last (N, ..., C)."""
    return np.moveaxis(x, 1, -1) if x.ndim > 2 else x


def torch_output(model, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def brevitas_cnn(bits: int = 4, signed_act: bool = False, input_quant: bool = False):
    """A Brevitas CNN: QuantConv2d and QuantLinear with ``bits``-bit weights, QuantReLU with
    ``bits``-bit activations (or a signed QuantIdentity after the first convolution, or a
    QuantIdentity on the input), MaxPool, Flatten; input (1, 2, 10, 10)."""
    import brevitas.nn as qnn
    import torch
    from torch import nn

    torch.manual_seed(0)
    first_act = (qnn.QuantIdentity(bit_width=bits) if signed_act
                 else qnn.QuantReLU(bit_width=bits))
    layers = [qnn.QuantIdentity(bit_width=8)] if input_quant else []
    layers += [qnn.QuantConv2d(2, 6, 3, padding=1, weight_bit_width=bits), first_act,
               nn.MaxPool2d(2), qnn.QuantConv2d(6, 8, 3, weight_bit_width=bits),
               qnn.QuantReLU(bit_width=bits), nn.Flatten(),
               qnn.QuantLinear(8 * 3 * 3, 3, bias=True, weight_bit_width=bits)]
    return nn.Sequential(*layers).eval(), (1, 2, 10, 10)
