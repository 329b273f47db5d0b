"""HGQ2 layers, read from Keras 3 archives without HGQ2 (``sources._quantized_archive``).

Their class names are HGQ2's registered names (``hgq>QDense``); their quantizers' variables
come as ``<quantizer>/<index>`` weights (``kq/0``, ...). Kernels and biases take their values
through kq/bq; an enabled input or output quantizer (iq/oq) and the Quantizer layer are
activation quantizers, which become the neurons' clip-floor (``quantizers.hgq_relu``).
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..errors import refuse
from .layers import Handler, _conv, _dense, _pool, _weight, register_handlers
from .quantizers import MODEL_INPUT, FixedPoint, QuantizerError, hgq_quantizer, hgq_relu, hgq_values
from .topology import LayerRecord

_HGQ_FIX = ("use HGQ2's fixed-point quantizers (q_type 'kbi' or 'kif'); for activations one "
            "quantizer for the whole tensor with k0=False, overflow_mode='SAT' and "
            "round_mode='RND'")


def _hgq(rec: LayerRecord, key: str) -> FixedPoint | None:
    """HGQ2 quantizer ``key`` (kq, bq, iq, oq; 'quantizer' for a Quantizer layer) of ``rec``,
    None where it is disabled or HGQ2's pass-through."""
    if key in ("iq", "oq") and not rec.config.get(f"enable_{key}"):
        return None
    spec = rec.config.get("config" if key == "quantizer" else f"{key}_conf")
    variables: list[np.ndarray] = []
    while f"{key}/{len(variables)}" in rec.weights:
        variables.append(np.asarray(rec.weights[f"{key}/{len(variables)}"]))
    try:
        if spec is None and variables:
            raise QuantizerError("saved bit widths without a quantizer config")
        return hgq_quantizer(spec, variables)
    except QuantizerError as err:
        raise refuse(rec.name, rec.class_name, f"{key} quantizer {err}", _HGQ_FIX) from None


def _hgq_activation(rec: LayerRecord, key: str, name: str) -> list[ir.AnnLayer]:
    quantizer = _hgq(rec, key)
    if quantizer is None:
        return []
    try:
        return [ir.ReLU(name, hgq_relu(quantizer))]
    except QuantizerError as err:
        raise refuse(rec.name, rec.class_name, f"{key} quantizer {err}", _HGQ_FIX) from None


def _hgq_wrapped(rec: LayerRecord, in_shape: ir.Shape, plain: LayerRecord,
                 handler: Handler) -> list[ir.AnnLayer]:
    """``plain`` (the layer without quantizers) between the input and output quantizers."""
    if rec.config.get(MODEL_INPUT) and _hgq(rec, "iq") is not None:
        raise refuse(rec.name, rec.class_name, "an input quantizer (iq) on the model's input",
                     "build the first layer with enable_iq=False: spikeforge chooses the input "
                     "integers from the calibration data (8- or 16-bit input formats)")
    return [*_hgq_activation(rec, "iq", f"{rec.name}/iq"), *handler(plain, in_shape),
            *_hgq_activation(rec, "oq", f"{rec.name}/oq")]


def _hgq_linear(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """HGQ2 QDense/QConv2D: the Keras layer with kq- and bq-quantized kernel and bias."""
    weights = {}
    for key, name in (("kq", "kernel"), ("bq", "bias")):
        if name in rec.weights:
            values = _weight(rec, name)
            quantizer = _hgq(rec, key)
            weights[name] = values if quantizer is None else hgq_values(quantizer, values)
    plain = LayerRecord(rec.name, rec.class_name, dict(rec.config), weights)
    handler = _dense if rec.class_name.endswith("Dense") else _conv
    return _hgq_wrapped(rec, in_shape, plain, handler)


def _hgq_pool(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    plain = "MaxPooling2D" if "Max" in rec.class_name else "AveragePooling2D"
    return _hgq_wrapped(rec, in_shape, LayerRecord(rec.name, plain, dict(rec.config)), _pool)


def _hgq_quantizer_layer(rec: LayerRecord, in_shape: ir.Shape) -> list[ir.AnnLayer]:
    """HGQ2's Quantizer layer (QKeras' QActivation in HGQ2's QKeras layer)."""
    return _hgq_activation(rec, "quantizer", rec.name)


def register() -> None:
    """Add the HGQ2 handlers to the layer table."""
    register_handlers({
        "hgq>QDense": _hgq_linear,
        "hgq>QConv2D": _hgq_linear,
        "hgq>QMaxPooling2D": _hgq_pool,
        "hgq>QAveragePooling2D": _hgq_pool,
        "hgq>Quantizer": _hgq_quantizer_layer,
    })


register()
