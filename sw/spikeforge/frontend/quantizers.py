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


# --- HGQ2 fixed-point quantizers -------------------------------------------------------
#
# An HGQ2 quantizer (hgq.quantizer.Quantizer) holds a config (``QuantizerConfig``: q_type
# 'kbi' or 'kif', round and overflow modes, initial bit widths) and, once built, its bit
# widths as variables of any granularity (one per element for a kernel by default), saved
# in model.weights.h5: KBI keeps (b, i, k), KIF (i, f, k); k (keep negative) is uint8. At
# inference (the ``quantizers`` package, float32): saturate (SAT: [-k 2^i, 2^i - 2^-f],
# SAT_SYM: [-k (2^i - 2^-f), 2^i - 2^-f]), round x 2^f (RND: floor(x + 1/2), ties up;
# RND_CONV: ties to even; TRN: floor), or round then wrap (WRAP); an element whose
# k + i + f <= 0 is 0. The QKeras compatibility layer of HGQ2 (``hgq/qkeras>quantized_bits``)
# is a KBI config whose ``bits`` exclude the sign bit (unlike QKeras' own quantized_bits).

MODEL_INPUT = "spikeforge_model_input"  # config key the readers set on the model's first layer

_ROUNDING = {
    "RND": lambda v: np.floor(v + np.float32(0.5)),
    "RND_CONV": np.round,
    "TRN": np.floor,
    "TRN_ZERO": lambda v: np.sign(v) * np.floor(np.abs(v)),
    "RND_ZERO": lambda v: -np.floor(-np.abs(v) + np.float32(0.5)) * np.sign(v),
    "RND_MIN_INF": lambda v: -np.floor(-v + np.float32(0.5)),
    "RND_INF": lambda v: np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)),
}


@dataclass(frozen=True)
class FixedPoint:
    """An HGQ2 fixed-point quantizer as it computes at inference."""

    k: np.ndarray  # keep negative (0 or 1), any shape that broadcasts to the tensor
    i: np.ndarray  # integer bits (without the sign)
    f: np.ndarray  # fraction bits
    round_mode: str
    overflow_mode: str
    scaler: float | None = None
    affine: tuple[float, float] | None = None
    weight_shortcut: bool = False  # HGQ2 rounds a trainable WRAP weight without wrapping

    def describe(self) -> str:
        def one(v: np.ndarray) -> str:
            lo, hi = float(np.min(v)), float(np.max(v))
            return f"{lo:g}" if lo == hi else f"{lo:g}..{hi:g}"

        return (f"fixed<k={one(self.k)}, i={one(self.i)}, f={one(self.f)}, {self.round_mode}, "
                f"{self.overflow_mode}>")


def _number(conf: dict[str, Any], key: str) -> float | None:
    value = conf.get(key)
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _variables(conf_type: str, overflow: str, variables: list[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(k, first, second) from the saved variables of a KBI (b, i) or KIF (i, f) quantizer."""
    k = [v for v in variables if v.dtype == np.uint8]
    rest = [v for v in variables if v.dtype != np.uint8]
    if len(k) != 1 or len(rest) < 2:
        return None
    first, second = rest[0], rest[1]
    if conf_type == "kif" and overflow == "WRAP":  # i is not trainable: saved after f
        first, second = second, first
    return k[0].astype(np.float32), first.astype(np.float32), second.astype(np.float32)


def hgq_quantizer(spec: Any, variables: list[np.ndarray]) -> FixedPoint | None:
    """The HGQ2 quantizer of a saved config (``{"class_name": "QuantizerConfig", ...}`` or
    the QKeras layer's ``quantized_bits``) and its saved variables; None for HGQ2's dummy
    (pass-through) quantizer."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise QuantizerError(f"unreadable HGQ2 quantizer {spec!r}")
    name = str(spec.get("class_name"))
    conf = dict(spec.get("config") or {})
    if name in ("quantized_bits", "quantized_relu"):  # HGQ2's QKeras layer: KBI
        alpha = conf.get("alpha")
        if isinstance(alpha, str) and alpha != "trainable_po2":
            raise QuantizerError(f"{name} with alpha={alpha!r}")
        conf = {"q_type": "kbi", "k0": conf.get("keep_negative", name == "quantized_bits"),
                "b0": conf.get("bits", 8), "i0": conf.get("integer", 0),
                "round_mode": "RND_CONV", "overflow_mode":
                    "SAT_SYM" if conf.get("symmetric") else "SAT",
                "scaler": alpha if isinstance(alpha, int | float) else None}
    elif name != "QuantizerConfig":
        raise QuantizerError(f"HGQ2 quantizer {name} (only fixed-point QuantizerConfig is read)")
    q_type = str(conf.get("q_type", "kbi")).lower()
    if q_type == "dummy":
        return None
    if q_type == "float":
        raise QuantizerError("a floating-point (minifloat) quantizer, q_type='float' (only the "
                             "fixed-point 'kbi' and 'kif' quantizers are read)")
    if q_type not in ("kbi", "kif"):
        raise QuantizerError(f"q_type={q_type!r}")
    round_mode = str(conf.get("round_mode", "RND")).upper().removeprefix("S_")
    overflow = str(conf.get("overflow_mode", "WRAP")).upper()
    if round_mode not in _ROUNDING or overflow not in ("SAT", "SAT_SYM", "WRAP"):
        raise QuantizerError(f"round_mode={conf.get('round_mode')!r}, "
                             f"overflow_mode={conf.get('overflow_mode')!r}")
    saved = _variables(q_type, overflow, variables) if variables else None
    if saved is not None:
        k, first, second = saved
        first, second = np.round(first), np.round(second)  # HGQ2 rounds them half to even
    else:
        keys = ("k0", "b0", "i0") if q_type == "kbi" else ("k0", "i0", "f0")
        values = [_number(conf, key) for key in keys]
        if any(v is None for v in values):
            raise QuantizerError("bit widths neither saved in model.weights.h5 nor numbers "
                                 "in the config")
        k, first, second = (np.float32(v) for v in values)
        k, first, second = np.asarray(k), np.asarray(first), np.asarray(second)
    if q_type == "kbi":
        i, f = second, first - second  # b, i
    else:
        i, f = first, second
    scaler = conf.get("scaler")
    affine = conf.get("affine")
    trainable = bool(conf.get("trainable", True))
    shortcut = (overflow == "WRAP" and trainable and bool(conf.get("is_weight", False))
                and (q_type == "kif" or round_mode == "RND"))
    return FixedPoint(np.asarray(k, np.float32), np.asarray(i, np.float32),
                      np.asarray(f, np.float32), round_mode, overflow,
                      None if scaler is None else float(scaler),
                      None if affine is None else (float(affine[0]), float(affine[1])),
                      shortcut)


def hgq_values(q: FixedPoint, values: np.ndarray) -> np.ndarray:
    """The values HGQ2 computes for ``values`` at inference (float32 ops, as float64)."""
    x = np.asarray(values, np.float32)
    if q.scaler is not None:
        x = x / np.float32(q.scaler)
    k, i, f = (np.broadcast_to(v, x.shape).astype(np.float32) for v in (q.k, q.i, q.f))
    rnd = _ROUNDING[q.round_mode]
    scale = np.power(np.float32(2), f)
    if q.weight_shortcut:
        out = rnd(x * scale) / scale
    else:
        ii = np.maximum(i, -f)
        eps = np.power(np.float32(2), -f)
        if q.overflow_mode != "WRAP":
            top = np.power(np.float32(2), ii) - eps
            bottom = -top * k if q.overflow_mode == "SAT_SYM" else -np.power(np.float32(2), ii) * k
            x = np.where(x > top, top, np.where(x < bottom, bottom, x))
        out = rnd(x * scale) / scale
        if q.overflow_mode == "WRAP":
            bias = k * np.power(np.float32(2), ii + k - 1)
            out = np.mod(out + bias, np.power(np.float32(2), ii + k)) - bias
        out = np.where(k + i + f > 0, out, np.float32(0))
    if q.scaler is not None:
        out = out * np.float32(q.scaler)
    if q.affine is not None:
        out = out * np.float32(q.affine[0]) + np.float32(q.affine[1])
    return np.asarray(out, np.float32).astype(np.float64)


def hgq_relu(q: FixedPoint) -> ir.Relu:
    """An HGQ2 activation quantizer as the neurons' clip-floor activation: it must be one
    quantizer for the whole tensor, unsigned (k = 0), saturating and rounding to nearest;
    then q(x) = clip(floor(x 2^f + 1/2), 0, L) / 2^f with L = 2^(i+f) - 1 levels up to
    cap L / 2^f (times ``scaler``), which is the clip-floor exactly for RND (ties up) and,
    as QKeras' quantized_relu, up to ties for RND_CONV (ties to even)."""
    ks, iss, fs = (np.unique(v) for v in (q.k, q.i, q.f))
    if max(len(ks), len(iss), len(fs)) > 1:
        raise QuantizerError(f"{q.describe()} with bit widths that differ between elements "
                             "(one activation quantizer for the whole layer is needed: "
                             "the neurons of a layer share their levels)")
    k, i, f = float(ks[0]), float(iss[0]), float(fs[0])
    if k != 0:
        raise QuantizerError(f"{q.describe()} keeping negative values (k=1; an "
                             "integrate-and-fire rate is never negative)")
    if q.overflow_mode == "WRAP":
        raise QuantizerError(f"{q.describe()}: values above 2^i wrap around to small ones, "
                             "where a neuron saturates")
    if q.round_mode not in ("RND", "RND_CONV"):
        raise QuantizerError(f"{q.describe()}: rounding {q.round_mode} is not the neurons' "
                             "round to nearest")
    if q.affine is not None:
        raise QuantizerError(f"{q.describe()} with affine={q.affine}")
    if q.scaler is not None and not q.scaler > 0:
        raise QuantizerError(f"{q.describe()} with scaler={q.scaler}")
    levels = 2 ** int(max(i, -f) + f) - 1
    if levels < 1:
        raise QuantizerError(f"{q.describe()} with no level above 0")
    cap = levels * 2.0 ** -f * (1.0 if q.scaler is None else q.scaler)
    return ir.Relu(cap=cap, levels=levels)
