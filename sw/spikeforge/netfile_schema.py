"""The schema of ``snn.json``: typed checks of every field, its type and its range.

A check takes a JSON value and returns the loaded value or raises :class:`SchemaProblem`;
records and lists prefix the path of the field at fault. ``netfile`` reads a network
through :data:`NETWORK_SCHEMA`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import typing
from collections.abc import Callable
from typing import Any

from .ir import Formats, InputFormat, SnnConfig

FORMAT_VERSION = 1

# ---------------------------------------------------------------------------------------

Check = Callable[[Any], Any]


class SchemaProblem(Exception):
    def __init__(self, problem: str, field: tuple[str | int, ...] = ()) -> None:
        super().__init__(problem)
        self.problem, self.field = problem, field


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _int(low: int | None = None, high: int | None = None) -> Check:
    def check(value: Any) -> int:
        if not _is_int(value):
            raise SchemaProblem(f"must be an integer, not {_show(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            wanted = f"{low}" if low == high else f"in {low}..{high}"
            raise SchemaProblem(f"must be {wanted}, not {value}")
        return value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise SchemaProblem(f"must be a non-empty string, not {_show(value)}")
    return value


def _choice(*options: str) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            allowed = ", ".join(map(repr, options))
            raise SchemaProblem(f"must be one of {allowed}, not {_show(value)}")
        return value

    return check


def _float(value: Any) -> float:
    if _is_number(value):
        with contextlib.suppress(OverflowError):  # an integer beyond any float
            return float(value)
    raise SchemaProblem(f"must be a number, not {_show(value)}")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise SchemaProblem(f"must be true or false, not {_show(value)}")
    return value


def _choice_true(value: Any) -> bool:
    if value is not True:
        raise SchemaProblem(f"must be true (or left out), not {_show(value)}")
    return True


def _positive_number(value: Any) -> int | float:
    """A finite positive number, kept as written (int or float: the build id hashes it)."""
    if not (math.isfinite(_float(value)) and value > 0):
        raise SchemaProblem(f"must be a finite positive number, not {_show(value)}")
    return value


def _ints(count: int | range, low: int) -> Check:
    """A list of ``count`` integers, each at least ``low``, loaded as a tuple."""
    counts = range(count, count + 1) if isinstance(count, int) else count
    wording = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"

    def check(value: Any) -> tuple[int, ...]:
        if (
            not isinstance(value, list)
            or len(value) not in counts
            or not all(_is_int(v) and v >= low for v in value)
        ):
            raise SchemaProblem(
                f"must be a list of {wording} integers >= {low}, not {_show(value)}"
            )
        return tuple(value)

    return check


def _record(fields: dict[str, Check], optional: frozenset[str] = frozenset()) -> Check:
    """A JSON object with exactly these fields (those in ``optional`` may be left out),
    each checked in turn."""

    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SchemaProblem(f"must be a JSON object, not {_show(value)}")
        for key in value:
            if key not in fields:
                raise SchemaProblem("is not a field this spikeforge knows", (key,))
        loaded = {}
        for key, field_check in fields.items():
            if key not in value and key in optional:
                continue
            if key not in value:
                raise SchemaProblem("is missing", (key,))
            try:
                loaded[key] = field_check(value[key])
            except SchemaProblem as err:
                raise SchemaProblem(err.problem, (key, *err.field)) from None
        return loaded

    return check


# the JSON check of a dataclass field by its type; ranges are the dataclass' own checks
_HINT_CHECKS: dict[Any, Check] = {int: _int(), bool: _bool, float: _float}


def _hint_check(hint: Any) -> Check:
    if typing.get_origin(hint) is typing.Literal:
        return _choice(*typing.get_args(hint))
    if hint not in _HINT_CHECKS:
        raise TypeError(f"netfile has no JSON check for a {hint} field")
    return _HINT_CHECKS[hint]


def _dataclass(cls: type) -> Check:
    """A record of the dataclass' fields, built with the dataclass' own value checks."""
    hints = typing.get_type_hints(cls)
    record = _record({f.name: _hint_check(hints[f.name]) for f in dataclasses.fields(cls)})

    def check(value: Any) -> Any:
        fields = record(value)
        try:
            return cls(**fields)
        except ValueError as err:
            raise SchemaProblem(f"is invalid: {err}") from None

    return check


def _optional(inner: Check) -> Check:
    return lambda value: None if value is None else inner(value)


_SHAPE, _PAIR, _PADS = _ints(range(1, 4), 1), _ints(2, 1), _ints(4, 0)
_LAYER = {
    "neuron": _record(
        {
            "type": _choice("neuron"),
            "name": _text,
            "kind": _choice("conv", "dense"),
            "in_shape": _SHAPE,
            "out_shape": _SHAPE,
            "strides": _PAIR,
            "pads": _PADS,
            "scale": _positive_number,
            # true: the layer has its own initial membranes (array '{i}.v_init'); written
            # only then, so older files and networks without them read as before
            "v_init": _choice_true,
        },
        optional=frozenset({"v_init"}),
    ),
    "pool_gate": _record(
        {
            "type": _choice("pool_gate"),
            "name": _text,
            "in_shape": _SHAPE,
            "out_shape": _SHAPE,
            "pool": _PAIR,
            "strides": _PAIR,
            "pads": _PADS,
        }
    ),
}


def _layers(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise SchemaProblem(f"must be a non-empty list of layers, not {_show(value)}")
    loaded = []
    for i, entry in enumerate(value):
        try:
            if not isinstance(entry, dict):
                raise SchemaProblem(f"must be a JSON object, not {_show(entry)}")
            if not isinstance(entry.get("type"), str) or entry["type"] not in _LAYER:
                raise SchemaProblem(f"must be one of {', '.join(map(repr, _LAYER))}", ("type",))
            loaded.append(_LAYER[entry["type"]](entry))
        except SchemaProblem as err:
            raise SchemaProblem(err.problem, (i, *err.field)) from None
    return loaded


NETWORK_SCHEMA = _record(
    {
        "format_version": _int(FORMAT_VERSION, FORMAT_VERSION),
        "name": _text,
        "input_shape": _SHAPE,
        "input_format": _dataclass(InputFormat),
        "config": _dataclass(SnnConfig),
        "formats": _optional(_dataclass(Formats)),  # None: the float SNN
        "layers": _layers,
        "build_id": _int(0, 2**32 - 1),
    }
)


def field_name(field: tuple[str | int, ...]) -> str:
    if not field:
        return "the file"
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in field)[1:]
