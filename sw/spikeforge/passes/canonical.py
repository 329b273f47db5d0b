"""Rewrite an ANN graph into the canonical form the spiking network is built from.

Canonical form: Conv2D/Dense layers (hidden ones with ReLU), MaxPool, Flatten and Reshape
only. Dropout is dropped, the reshapes that only undo each other cancel (a Conv1D or 1-D
pooling layer is a 2-D window between two reshapes), ReLU layers merge into the
Conv2D/Dense that produces their input, average pooling becomes a fixed-weight
convolution, and a final softmax or sigmoid is dropped (spike counts replace it; a one-unit
sigmoid is read as two classes).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import ir
from ..ann_numpy import infer_shapes
from ..errors import UnsupportedLayerError, refuse
from ..frontend.layers import binary_output, is_two_classes

_PASS_THROUGH = (ir.MaxPool, ir.Flatten, ir.Reshape)  # commute with ReLU and a ReLU cap
_PER_CHANNEL = (ir.BatchNorm, ir.ReLU, ir.Dropout)  # act per element or per last-axis channel
_VIEW = (ir.Reshape, ir.Flatten)  # relabel the elements in row-major order


def drop_dropout(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Drop the identities of inference: Dropout, and reshapes that undo each other
    (:func:`tidy_reshapes`)."""
    layers = [layer for layer in graph.layers if not isinstance(layer, ir.Dropout)]
    return tidy_reshapes(ir.AnnGraph(graph.input_shape, layers, graph.name))


def _in_shapes(graph: ir.AnnGraph) -> list[ir.Shape]:
    return [tuple(graph.input_shape), *infer_shapes(graph)][: len(graph.layers)]


def _keeps_channels(layer: ir.AnnLayer, in_shape: ir.Shape) -> bool:
    """A reshape that keeps the last (channel) axis: it commutes with per-channel layers."""
    return isinstance(layer, ir.Reshape) and tuple(layer.target)[-1:] == tuple(in_shape)[-1:]


def _user_name(views: list[ir.AnnLayer]) -> str:
    """The name for a composed reshape: the model's own Reshape/Flatten where there is one
    (helper reshapes of a 1-D layer are named ``layer/as_image``, ``layer/as_sequence``)."""
    own = [view.name for view in views if "/" not in view.name]
    return own[0] if own else views[-1].name


def _view(name: str, in_shape: ir.Shape, out_shape: ir.Shape) -> list[ir.AnnLayer]:
    """The one layer that relabels ``in_shape`` as ``out_shape`` (none when they are equal)."""
    if tuple(out_shape) == tuple(in_shape):
        return []
    if len(out_shape) == 1:
        return [ir.Flatten(name)]
    return [ir.Reshape(name, tuple(out_shape))]


def _one_view_per_run(graph: ir.AnnGraph) -> list[ir.AnnLayer]:
    """Each run of per-channel layers (BatchNorm, ReLU) and channel-keeping reshapes, with
    its reshapes composed into one, placed where it does not stand between a BatchNorm and
    the Conv2D/Dense it folds into: after the BatchNorms that directly follow a Conv2D/Dense
    (they fold backward) and before the others (they fold forward); at the end of the run
    when no BatchNorm folds forward (there it can merge with a following Flatten)."""
    layers, in_shapes = graph.layers, _in_shapes(graph)
    shapes = infer_shapes(graph)
    out: list[ir.AnnLayer] = []
    i = 0
    while i < len(layers):
        j = i
        while j < len(layers) and (isinstance(layers[j], _PER_CHANNEL)
                                   or _keeps_channels(layers[j], in_shapes[j])):
            j += 1
        run = layers[i:j]
        views = [layer for layer in run if isinstance(layer, ir.Reshape)]
        if not views:
            out.extend(run or [layers[i]])
            i = max(j, i + 1)
            continue
        rest = [layer for layer in run if not isinstance(layer, ir.Reshape)]
        before = out[-1] if out else None
        backward = 0
        if isinstance(before, ir.Conv2D | ir.Dense) and before.relu is None:
            while backward < len(rest) and isinstance(rest[backward], ir.BatchNorm):
                backward += 1
        forward = any(isinstance(layer, ir.BatchNorm) for layer in rest[backward:])
        at = backward if forward else len(rest)
        view = _view(_user_name(views), in_shapes[i], shapes[j - 1])
        out.extend([*rest[:at], *view, *rest[at:]])
        i = j
    return out


def tidy_reshapes(graph: ir.AnnGraph) -> ir.AnnGraph:
    """The same graph with as few reshapes as possible, exactly: the reshapes of a run of
    per-channel layers composed into one (:func:`_one_view_per_run`), neighbouring reshapes
    and flattens composed, reshapes to their input's own shape dropped. A Conv1D followed by
    a 1-D pooling layer is then a Conv2D and a 2-D pooling on the one-row map (1, L, C)."""
    layers = _one_view_per_run(graph)
    kept: list[tuple[ir.AnnLayer, ir.Shape]] = []  # (layer, its input shape)
    shape = tuple(graph.input_shape)
    for layer in layers:
        out_shape = tuple(infer_shapes(ir.AnnGraph(shape, [layer]))[0])
        if isinstance(layer, _VIEW) and kept and isinstance(kept[-1][0], _VIEW):
            previous, start = kept.pop()
            name = _user_name([previous, layer])
            kept.extend((view, start) for view in _view(name, start, out_shape))
        elif isinstance(layer, ir.Reshape):
            kept.extend((view, shape) for view in _view(layer.name, shape, out_shape))
        else:
            kept.append((layer, shape))
        shape = out_shape
    return ir.AnnGraph(graph.input_shape, [layer for layer, _ in kept], graph.name)


def _combine(owner: ir.Conv2D | ir.Dense, relu: ir.ReLU) -> ir.Relu:
    """The activation of ``owner`` after applying ``relu`` to its output."""
    if owner.relu is None or owner.relu == ir.Relu():
        return relu.spec
    if relu.spec == ir.Relu():
        return owner.relu
    raise refuse(relu.name, "ReLU", f"a second clipping activation after '{owner.name}'",
                 "keep one clipped or quantized ReLU per layer")


def merge_relu(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Attach each ReLU to the Conv2D/Dense before it (through max-pool/flatten)."""
    layers: list[ir.AnnLayer] = []
    for layer in graph.layers:
        if not isinstance(layer, ir.ReLU):
            layers.append(layer)
            continue
        k = len(layers) - 1
        while k >= 0 and isinstance(layers[k], _PASS_THROUGH):
            k -= 1
        owner = layers[k] if k >= 0 else None
        if not isinstance(owner, ir.Conv2D | ir.Dense):
            where = f"after '{owner.name}'" if owner is not None else "on the input"
            raise refuse(
                layer.name, "ReLU", f"a ReLU {where}", "put each ReLU after a Conv2D or Dense layer"
            )
        layers[k] = dataclasses.replace(owner, relu=_combine(owner, layer))
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def drop_output_softmax(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Remove a softmax or sigmoid on the output: the class is the neuron that spikes most
    (both keep the order of the classes). A one-unit sigmoid is two classes (-z, z)
    (:func:`~spikeforge.frontend.layers.binary_output`, which the frontend has already
    applied to a model it read); their fixed layer merges into a linear Dense before it."""
    shapes = infer_shapes(graph)
    layers = binary_output(list(graph.layers), shapes[-1] if shapes else ())
    if layers and isinstance(layers[-1], ir.Softmax):
        layers.pop()
    if (len(layers) >= 2 and is_two_classes(layers[-1]) and isinstance(layers[-2], ir.Dense)
            and layers[-2].relu is None):
        linear, fixed = layers[-2], layers[-1]
        assert isinstance(fixed, ir.Dense)
        layers[-2:] = [ir.Dense(linear.name, linear.weights @ fixed.weights,
                                linear.bias @ fixed.weights + fixed.bias)]
    for layer in layers:
        if isinstance(layer, ir.Sigmoid):
            raise refuse(
                layer.name,
                "sigmoid",
                "a sigmoid before the output layer",
                "a sigmoid has no integrate-and-fire equivalent on hidden layers: use 'relu' "
                "there and sigmoid (or softmax) only as the model's last activation",
            )
        if isinstance(layer, ir.Softmax):
            raise refuse(
                layer.name,
                "Softmax",
                "a softmax before the output layer",
                "use softmax only as the model's last activation",
            )
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def avgpool_to_conv(graph: ir.AnnGraph) -> ir.AnnGraph:
    """Average pooling as a convolution with fixed weights 1/(ph*pw) per channel."""
    shapes = infer_shapes(graph)
    layers: list[ir.AnnLayer] = []
    in_shape = graph.input_shape
    for layer, shape in zip(graph.layers, shapes, strict=True):
        if isinstance(layer, ir.AvgPool):
            if any(layer.pads):
                one_row = layer.pool[0] == 1 and len(in_shape) == 3 and in_shape[0] == 1
                raise refuse(
                    layer.name,
                    "AveragePooling1D" if one_row else "AveragePooling2D",
                    "padding='same' with a partial window",
                    "use padding='valid' (Keras divides border windows by their own size, "
                    "which a fixed-weight convolution cannot)",
                )
            channels = in_shape[-1]
            kernel = np.zeros((*layer.pool, channels, channels))
            kernel[:, :, np.arange(channels), np.arange(channels)] = 1.0 / np.prod(layer.pool)
            layers.append(
                ir.Conv2D(layer.name, kernel, np.zeros(channels), layer.strides, layer.pads,
                          relu=ir.Relu())
            )
        else:
            layers.append(layer)
        in_shape = shape
    return ir.AnnGraph(graph.input_shape, layers, graph.name)


def check_canonical(graph: ir.AnnGraph) -> None:
    """Raise if the graph is not a stack the spiking network can express."""
    neurons = [layer for layer in graph.layers if isinstance(layer, ir.Conv2D | ir.Dense)]
    if not neurons:
        raise UnsupportedLayerError(
            f"model '{graph.name}' has no Conv2D or Dense layer to convert; a spiking "
            "network needs at least one (end the model with a Dense layer, one unit per class)"
        )
    first = next(layer for layer in graph.layers if not isinstance(layer, _VIEW))
    if not isinstance(first, ir.Conv2D | ir.Dense):
        raise refuse(
            first.name,
            type(first).__name__,
            "a pooling layer on the input",
            "start the model with a Conv2D or Dense layer",
        )
    last = graph.layers[-1]
    if not isinstance(last, ir.Dense):
        raise refuse(
            last.name,
            type(last).__name__,
            "an output layer that is not Dense",
            "end the model with a Dense layer, one unit per class",
        )
    if last.weights.shape[1] == 1:
        raise refuse(
            last.name,
            "Dense",
            "an output of one unit (the class is the output neuron that spikes most, and one "
            "neuron always wins)",
            "spikeforge converts classifiers: end a binary classifier with Dense(1, "
            "activation='sigmoid') (read as two classes) or Dense(2) with softmax",
        )
    for layer in neurons[:-1]:
        if layer.relu is None:
            raise refuse(
                layer.name,
                type(layer).__name__,
                "a hidden layer without ReLU",
                "integrate-and-fire neurons only express non-negative activations: add "
                "activation='relu'",
            )
    in_shape = graph.input_shape
    source: tuple[ir.AnnLayer, ir.Shape] | None = None  # the last spiking layer, its output
    views: list[ir.AnnLayer] = []  # the reshapes since
    for layer, shape in zip(graph.layers, infer_shapes(graph), strict=True):
        if isinstance(layer, _VIEW):
            views.append(layer)
            in_shape = shape
            continue
        if isinstance(layer, ir.Conv2D | ir.MaxPool) and source and source[1] != in_shape:
            reshape = next((view for view in views if "/" not in view.name), views[0])
            raise refuse(
                reshape.name,
                type(reshape).__name__,
                f"relabelling the output {source[1]} of '{source[0].name}' as {in_shape} for "
                f"'{layer.name}'",
                "spiking layers pass their maps on in their own shape (only the model's input "
                "can be read in another): between layers, reshape only to flatten before a "
                "Dense layer",
            )
        if isinstance(layer, ir.Conv2D | ir.MaxPool) and len(in_shape) != 3:
            raise refuse(
                layer.name,
                type(layer).__name__,
                "a 2-D window on a flat input",
                "put every Conv2D and pooling layer before the Flatten",
            )
        if isinstance(layer, ir.Dense) and len(in_shape) != 1:
            raise refuse(
                layer.name,
                "Dense",
                f"an input of shape {in_shape}",
                "add a Flatten before the Dense layer",
            )
        source, views, in_shape = (layer, shape), [], shape
