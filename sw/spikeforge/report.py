"""The conversion report: per-layer scale, thresholds, formats and overflow headroom."""

from __future__ import annotations

from typing import Any

import numpy as np

from .ir import Network, PoolGate
from .netfile import build_id
from .quant import layer_bounds, signed_bits


def conversion_report(
    int_net: Network, float_net: Network, conversion: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON-able description of the quantized network and its worst-case ranges, with the
    options the conversion chose and its calibration (from ``conversion``, if given)."""
    assert int_net.formats is not None
    formats = int_net.formats
    layers: list[dict[str, Any]] = []
    neuron_index = 0
    float_layers = {layer.name: layer for layer in float_net.neuron_layers}
    for layer in int_net.layers:
        entry: dict[str, Any] = {
            "name": layer.name,
            "in_shape": list(layer.in_shape),
            "out_shape": list(layer.out_shape),
        }
        if isinstance(layer, PoolGate):
            entry.update(kind="maxpool_gate", pool=list(layer.pool), strides=list(layer.strides))
        else:
            bounds = layer_bounds(int_net, neuron_index)
            reference = float_layers[layer.name]
            error = np.abs(layer.weights / layer.threshold - reference.weights).max()
            bias_abs = int(np.abs(layer.bias).max()) if layer.bias.size else 0
            entry.update(
                kind=layer.kind,
                scale=layer.scale,
                weights=int(layer.weights.size),
                threshold_min=int(layer.threshold.min()),
                threshold_max=int(layer.threshold.max()),
                weight_abs_max=int(np.abs(layer.weights).max()),
                weight_error_max=float(error),
                bias_bits_needed=signed_bits(-bias_abs, bias_abs),
                current_range=[bounds.current_min, bounds.current_max],
                current_bits=bounds.current_bits,
                membrane_range=[bounds.membrane_min, bounds.membrane_max],
                membrane_bits_needed=bounds.membrane_bits,
                membrane_headroom_bits=formats.membrane_bits - bounds.membrane_bits,
            )
            neuron_index += 1
        layers.append(entry)
    return {
        "name": int_net.name,
        "build_id": f"{build_id(int_net):#010x}",
        "input_shape": list(int_net.input_shape),
        "config": {
            "reset": int_net.config.reset,
            "input": int_net.config.input_mode,
            "v_init": int_net.config.v_init,
            "pool": int_net.config.pool,
            "seed": int_net.config.seed,
            "timesteps": int_net.config.timesteps,
            "max_timesteps": int_net.config.max_timesteps,
        },
        "formats": {
            "weight_bits": formats.weight_bits,
            "bias_bits": formats.bias_bits,
            "threshold_bits": formats.threshold_bits,
            "membrane_bits": formats.membrane_bits,
            "count_bits": int_net.config.count_bits,
        },
        "neurons": sum(layer.neurons for layer in int_net.neuron_layers),
        "weights": sum(int(layer.weights.size) for layer in int_net.neuron_layers),
        "layers": layers,
        "input_format": {
            "bits": int_net.input_format.bits,
            "signed": int_net.input_format.signed,
        },
        "choices": (conversion or {}).get("choices", []),
        "calibration": (conversion or {}).get("calibration"),
        "own_v_init": [la.name for la in int_net.neuron_layers if la.v_init is not None],
    }


def _shape(shape: list[int]) -> str:
    return "x".join(map(str, shape))


def _input_kind(fmt: dict[str, Any]) -> str:
    return f"{'int' if fmt['signed'] else 'uint'}{fmt['bits']}"


def _calibration_lines(calibration: dict[str, Any] | None) -> list[str]:
    if not calibration or calibration["level"] == "none":
        return ["- calibration: none"]
    factors = ", ".join(
        f"{la['name']} x{la['threshold_factor']:g}"
        + (
            f", V(0) = {la['v_init_fraction']:g} theta"
            if la.get("v_init_fraction") is not None
            else ""
        )
        + f" (RMS error {la['rms_error_before']:.3g} -> {la['rms_error_after']:.3g})"
        for la in calibration["layers"]
    )
    return [
        f"- calibration: {calibration['level']} at T = {calibration['timesteps']} on "
        f"{calibration['images']} images; threshold factors"
        + (", initial membranes" if calibration["level"] == "full" else "")
        + f": {factors}"
    ]


def report_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown page."""
    cfg, fmt = report["config"], report["formats"]
    lines = [
        f"# spikeforge conversion report: {report['name']}",
        "",
        f"- build id: `{report['build_id']}`",
        f"- input: {_shape(report['input_shape'])} {_input_kind(report['input_format'])}, "
        f"{cfg['input']} input" + (f" (seed {cfg['seed']})" if cfg["input"] == "poisson" else ""),
        f"- reset: {cfg['reset']}, initial membrane: {cfg['v_init']}"
        + (" (calibrated per layer)" if report.get("own_v_init") else "")
        + ", max-pool: "
        f"{cfg['pool'].replace('_', '-')}, T = {cfg['timesteps']} (run time, at most "
        f"{cfg['max_timesteps']})",
        *[f"- {c['option']}: {c['value'].replace('_', '-')}, chosen because {c['reason']}"
          for c in report["choices"]],
        *_calibration_lines(report["calibration"]),
        f"- formats: weights {fmt['weight_bits']} b, biases {fmt['bias_bits']} b, thresholds "
        f"{fmt['threshold_bits']} b unsigned, membranes {fmt['membrane_bits']} b, spike counts "
        f"{fmt['count_bits']} b",
        f"- {report['neurons']} neurons, {report['weights']} weights",
        "",
        "Worst case over any input and T_max steps. Negative headroom means the membrane can "
        "saturate (clamped and counted, see docs/spec.md); current bits is the exact per-step "
        "synaptic sum.",
        "",
        "| layer | kind | in -> out | scale (lambda) | threshold | max abs(w) | max weight "
        "error | bias bits | current bits | membrane bits needed | headroom |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for layer in report["layers"]:
        shapes = f"{_shape(layer['in_shape'])} -> {_shape(layer['out_shape'])}"
        if layer["kind"] == "maxpool_gate":
            pool = _shape(layer["pool"])
            blanks = " |" * 8
            lines.append(f"| {layer['name']} | max-pool gate {pool} | {shapes} |{blanks}")
            continue
        lines.append(
            f"| {layer['name']} | {layer['kind']} | {shapes} | {layer['scale']:.4g} | "
            f"{layer['threshold_min']}..{layer['threshold_max']} | {layer['weight_abs_max']} | "
            f"{layer['weight_error_max']:.2e} | {layer['bias_bits_needed']} | "
            f"{layer['current_bits']} | {layer['membrane_bits_needed']} | "
            f"{layer['membrane_headroom_bits']:+d} |"
        )
    return "\n".join(lines) + "\n"
