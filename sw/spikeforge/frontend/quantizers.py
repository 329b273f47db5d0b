"""QKeras quantizers, read from saved configs and computed with numpy (no QKeras needed).

``quantized_bits`` gives the values QKeras' inference uses for a kernel or bias: the
same float32 operations in the same order as ``qkeras/quantizers.py`` (rounding half to
even, as ``tf.round``), for ``alpha`` None, a number, ``"auto"`` and ``"auto_po2"`` (the
default a QConv2D/QDense gives a kernel quantizer without ``alpha``).

``quantized_relu(bits, integer)`` is ``m_i / m * clip(round(x * m / m_i), 0, m - 1)``
with ``m = 2**bits``, ``m_i = 2**integer``: the clip-floor activation with
``L = 2**bits - 1`` levels and cap ``L * 2**(integer - bits)``. QKeras rounds a value
exactly halfway between two levels to the even one; the clip-floor (and an
integrate-and-fire neuron) rounds it up. docs/import.md measures how often that happens.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import ir

_EPSILON = np.float32(1e-7)  # keras.backend.epsilon()
_POSITIONAL = {
    "quantized_bits": ("bits", "integer", "symmetric", "keep_negative", "alpha",
                       "use_stochastic_rounding", "scale_axis", "qnoise_factor"),
    "quantized_relu": ("bits", "integer", "use_sigmoid", "negative_slope",
                       "use_stochastic_rounding", "relu_upper_bound", "is_quantized_clip",
                       "qnoise_factor"),
}


class QuantizerError(ValueError):
    """A quantizer setting spikeforge does not reproduce; the message says which."""


@dataclass(frozen=True)
class Quantizer:
    """A quantizer or activation spec: ``quantized_bits``, ``relu``, ... and its settings."""

    name: str
    config: dict[str, Any]

    def __str__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({settings})"


def parse_quantizer(spec: Any) -> Quantizer | None:
    """A quantizer from its saved form: ``None``, a string such as ``"quantized_bits(4,0,1)"``
    or ``"relu"``, or a ``{"class_name": ..., "config": {...}}`` dict."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        return Quantizer(str(spec.get("class_name")), dict(spec.get("config") or {}))
    if not isinstance(spec, str):
        raise QuantizerError(f"unreadable quantizer {spec!r}")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
        if isinstance(node, ast.Name):
            return Quantizer(node.id, {})
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise QuantizerError(f"unreadable quantizer {spec!r}")
        name = node.func.id
        positional = [ast.literal_eval(arg) for arg in node.args]
        keywords = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    except (SyntaxError, ValueError) as err:
        raise QuantizerError(f"unreadable quantizer {spec!r} ({err})") from None
    names = _POSITIONAL.get(name, ())
    if len(positional) > len(names):
        raise QuantizerError(f"{spec!r}: too many positional settings for {name}")
    return Quantizer(name, {**dict(zip(names, positional, strict=False)), **keywords})


def _require(q: Quantizer, key: str, allowed: Any, default: Any) -> None:
    value = q.config.get(key, default)
    if value != allowed and not (value is None and allowed is None):
        raise QuantizerError(f"{q.name} with {key}={value!r} (only {key}={allowed!r} is read)")


def _round_log2(scale: np.ndarray) -> np.ndarray:
    exponent = np.round(np.log(scale + _EPSILON) / np.float32(np.log(2.0)))
    return np.power(np.float32(2.0), exponent).astype(np.float32)


def _auto_scaled(q: Quantizer, x: np.ndarray, bits: int, m_i: np.float32, m: np.float32):
    """QKeras' alpha='auto'/'auto_po2' path (symmetric); returns the quantized values."""
    alpha = q.config["alpha"]
    if alpha not in ("auto", "auto_po2"):
        raise QuantizerError(f"quantized_bits with alpha={alpha!r}")
    for key in ("elements_per_scale", "min_po2_exponent", "max_po2_exponent",
                "post_training_scale"):
        _require(q, key, None, None)
    scale_axis = q.config.get("scale_axis")
    if x.ndim > 1:
        axis = tuple(i for i in range(x.ndim) if i != (x.ndim - 1 if scale_axis is None
                                                         else scale_axis))
    else:
        axis = (0,)
    x = x / m_i
    levels = np.float32((2 ** (bits - 1) - 1) * 2)
    half = levels / np.float32(2)

    def levels_of(scale: np.ndarray) -> np.ndarray:
        v = np.floor(np.abs(x) / scale + np.float32(0.5))
        return np.sign(x) * np.where(v < half, v, half)

    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (np.max(np.abs(x), axis=axis, keepdims=True) * np.float32(2)) / levels
        if alpha == "auto_po2":
            scale = _round_log2(scale)
            for _ in range(5):
                z = levels_of(scale)
                if x.ndim > 1:
                    qx = np.mean(x * z, axis=axis, keepdims=True, dtype=np.float32)
                    qq = np.mean(z * z, axis=axis, keepdims=True, dtype=np.float32)
                else:
                    qx, qq = x * z, z * z
                scale = _round_log2(qx / (qq + _EPSILON))
            if not np.array_equal(z, levels_of(scale)):  # QKeras 0.9 keeps z, later ones redo it
                raise QuantizerError(
                    "quantized_bits alpha='auto_po2' whose scale search has not converged "
                    "(QKeras versions quantize this tensor differently)"
                )
        z = levels_of(scale)
    return ((scale * m) * (m_i * z / m)).astype(np.float32)


def quantized_bits(q: Quantizer, values: np.ndarray) -> np.ndarray:
    """The values QKeras' ``quantized_bits`` gives ``values`` at inference (float64)."""
    if q.name != "quantized_bits":
        raise QuantizerError(f"weight quantizer {q.name} (only quantized_bits is read)")
    _require(q, "qnoise_factor", 1.0, 1.0)
    x = np.asarray(values, dtype=np.float32)
    bits, integer = int(q.config.get("bits", 8)), int(q.config.get("integer", 0))
    keep_negative = int(bool(q.config.get("keep_negative", True)))
    symmetric = int(bool(q.config.get("symmetric", 0)))
    m = np.float32(2.0 ** (bits - keep_negative))
    m_i = np.float32(2.0**integer)
    alpha = q.config.get("alpha")
    if isinstance(alpha, str):
        return _auto_scaled(q, x, bits, m_i, m).astype(np.float64)
    scale = np.float32(1.0) if alpha is None else np.asarray(alpha, dtype=np.float32)
    if bits - keep_negative > 0:
        steps = np.clip(np.round(x * m / m_i), keep_negative * (-m + symmetric), m - 1)
        xq = m_i * steps / m
    else:
        xq = np.sign(x)
        xq = xq + (np.float32(1) - np.abs(xq))
        if not keep_negative:
            xq = (xq + np.float32(1)) / np.float32(2)
    return (scale * xq).astype(np.float32).astype(np.float64)


def relu_spec(q: Quantizer) -> ir.Relu:
    """The activation ``q`` (``relu``, ``relu6`` or ``quantized_relu``) as an IR ReLU."""
    if q.name == "relu":
        return ir.Relu()
    if q.name == "relu6":
        return ir.Relu(cap=6.0)
    if q.name != "quantized_relu":
        raise QuantizerError(f"activation {q} (a ReLU or quantized_relu is needed)")
    for key, allowed, default in (("use_sigmoid", 0, 0), ("negative_slope", 0.0, 0.0),
                                  ("qnoise_factor", 1.0, 1.0)):
        _require(q, key, allowed, default)
    bits, integer = int(q.config.get("bits", 8)), int(q.config.get("integer", 0))
    if bits < 1:
        raise QuantizerError(f"quantized_relu with bits={bits}")
    levels = 2**bits - 1
    cap = levels * 2.0 ** (integer - bits)
    bound = q.config.get("relu_upper_bound")
    if bound is not None and not q.config.get("is_quantized_clip", True) and bound < cap:
        raise QuantizerError(f"quantized_relu with relu_upper_bound={bound} below its cap {cap}")
    return ir.Relu(cap=cap, levels=levels)
