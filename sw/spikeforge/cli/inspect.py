"""``spikeforge inspect MODEL``: how each layer maps into the spiking network, or why it
can't (with the fix), in one table of every layer, with parameter counts and the input
shape; then the verdict, which lists every refusal. No data, no conversion."""

from __future__ import annotations

import argparse
import textwrap

from .model_args import add_model

_WRAP = 60  # width of the "maps to" column


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect", help="list a model's layers and how each maps into the spiking network"
    )
    add_model(parser)
    parser.set_defaults(run=run)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(line) for row in rows for line in row[i].splitlines() or [""])
        for i in range(len(rows[0]))
    ]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.splitlines() or [""] for cell in row]
        for k in range(max(len(c) for c in cells)):
            parts = [
                (c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def run(args: argparse.Namespace) -> int:
    from ..frontend.inspect import inspect_model

    if args.model.suffix.lower() == ".nir":
        from ..nirio.convert import inspect_nir

        report = inspect_nir(args.model)
    else:
        report = inspect_model(args.model, args.weights)
    shape = " x ".join(map(str, report.input_shape))
    if report.input_problem is not None:
        shape = "refused (see the verdict; the layers are checked all the same)"
    print(f"model '{report.name}' ({report.source}), input {shape}")
    rows = [["layer", "type", "settings", "params", "output", "maps to"]]
    for row in report.rows:
        out = "?" if row.out_shape is None else "x".join(map(str, row.out_shape))
        rows.append(
            [
                row.name,
                row.class_name,
                _wrap(row.settings, 40) or "-",
                str(row.params),
                out,
                _wrap(row.maps_to, _WRAP),
            ]
        )
    print("\n".join(_table(rows)))
    total = sum(row.params for row in report.rows)
    print(f"parameters: {total}")
    print(report.verdict)
    return 0 if report.ok else 2
