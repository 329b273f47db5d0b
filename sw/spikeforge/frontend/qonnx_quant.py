"""QONNX ``Quant`` nodes (as Brevitas' ``export_qonnx`` writes them), computed with numpy.

``Quant(x, scale, zeropoint, bitwidth)`` with attributes ``signed``, ``narrow`` and
``rounding_mode`` is ``(clip(round(x / scale + zp), qmin, qmax) - zp) * scale``, with
``[qmin, qmax]`` the signed or unsigned range of ``bitwidth`` bits (one less at the bottom
of a narrow signed range, at the top of a narrow unsigned one). On a weight it is
evaluated here (the quantized weights); on the data path an unsigned one with a zero point
of 0 and one scale for the whole tensor (a QuantReLU) is the clip-floor activation with
``qmax`` levels and cap ``qmax * scale``. The clip-floor rounds a value exactly halfway
between two levels up, Brevitas' ``ROUND`` to even; docs/import.md measures the effect.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ir

QUANT_DOMAIN_OPS = ("Quant",)  # the QONNX ops folded on weights (BipolarQuant is refused)
_ROUNDING = {"ROUND": np.round, "ROUND_TO_ZERO": np.trunc, "FLOOR": np.floor, "CEIL": np.ceil}


class QuantError(ValueError):
    """A Quant node's settings that spikeforge cannot compute or map (the text says which)."""


def _bits(bitwidth: np.ndarray) -> int:
    values = np.unique(np.asarray(bitwidth, np.float64))
    if values.size != 1 or values[0] != int(values[0]) or values[0] < 1:
        raise QuantError(f"bitwidth {np.asarray(bitwidth).ravel()[:4].tolist()} (one integer "
                         "bit width >= 1 is needed)")
    return int(values[0])


def int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """The integers a ``bits``-bit Quant produces."""
    if signed:
        return -(2 ** (bits - 1)) + int(narrow), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1 - int(narrow)


def quant_values(x: np.ndarray, scale: np.ndarray, zeropoint: np.ndarray,
                 bitwidth: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """The values a Quant node gives a constant tensor ``x`` (a weight)."""
    mode = str(attrs.get("rounding_mode", "ROUND")).upper()
    if mode not in _ROUNDING:
        raise QuantError(f"rounding_mode={mode}")
    low, high = int_range(_bits(bitwidth), bool(attrs.get("signed", 1)),
                          bool(attrs.get("narrow", 0)))
    x, scale, zero = (np.asarray(a, np.float32) for a in (x, scale, zeropoint))
    q = np.clip(_ROUNDING[mode](x / scale + zero), low, high)
    return ((q - zero) * scale).astype(np.float32)


def quant_relu(weights: dict[str, np.ndarray], attrs: dict[str, Any]) -> ir.Relu:
    """The clip-floor activation of a Quant on the data path (Brevitas' QuantReLU)."""
    bits = _bits(weights["bitwidth"])
    if attrs.get("signed", 1):
        raise QuantError(f"a signed {bits}-bit activation quantizer (signed=1: negative "
                         "values pass, which an integrate-and-fire neuron cannot emit)")
    if np.any(np.asarray(weights["zeropoint"]) != 0):
        raise QuantError("an activation zero point other than 0")
    scale = np.asarray(weights["scale"], np.float64)
    if scale.size != 1:
        raise QuantError(f"per-channel activation scales (shape {scale.shape}; the neurons "
                         "of a layer share one threshold)")
    mode = str(attrs.get("rounding_mode", "ROUND")).upper()
    if mode != "ROUND":
        raise QuantError(f"rounding_mode={mode} (the clip-floor rounds to nearest)")
    levels = int_range(bits, False, bool(attrs.get("narrow", 0)))[1]
    if levels < 1 or not float(scale.ravel()[0]) > 0:
        raise QuantError(f"{levels} levels with scale {float(scale.ravel()[0])}")
    return ir.Relu(cap=float(scale.ravel()[0]) * levels, levels=levels)
