"""Choosing the network's input format (``ir.InputFormat``) from the calibration data.

uint8 data are pixels: the network takes them as they are (8-bit unsigned, the ANN seeing
pixel / 255). Real-valued data are quantized per tensor: signed when the calibration data
has negative values, 8 bits unless asked for 16, and the scale that maps the largest
magnitude in the calibration data onto the largest integer. Each choice can be given
instead (``spikeforge convert --input-bits/--input-signed/--input-scale``).
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..ir import InputFormat, ann_view


def choose_input_format(
    calibration: np.ndarray,
    bits: int | None = None,
    signed: bool | None = None,
    scale: float | None = None,
) -> InputFormat:
    """The input format for ``calibration`` (data as the user keeps it), with any of
    ``bits``, ``signed`` and ``scale`` given."""
    if calibration.dtype == np.uint8 and bits is None and signed is None and scale is None:
        return InputFormat()
    real = ann_view(calibration)
    if not np.isfinite(real).all():
        raise UserError("the calibration data holds NaN or infinite values; clean the dataset")
    signed = bool(real.min() < 0) if signed is None else signed
    bits = bits or 8
    if scale is None:
        largest = float(np.abs(real).max()) if real.size else 0.0
        high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        scale = high / largest if largest > 0 else 1.0
    try:
        return InputFormat(bits, signed, float(scale))
    except ValueError as err:
        raise UserError(f"input format: {err}") from err
