"""The RTL core's build directory and plan budgets, shared by ``sim``, ``synth`` and ``ip``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import positive_int

if TYPE_CHECKING:
    from ..ir import Network
    from ..rtl.plan import StagePlan

DEFAULT_RTL_BUILD = Path("build/rtl")


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The default plan's budgets (sw/spikeforge/rtl/plan.py)."""
    from ..rtl.plan import PlanLimits

    limits = PlanLimits()
    group = parser.add_argument_group("core size")
    group.add_argument(
        "--synapse-lanes",
        type=positive_int,
        default=limits.synapse_lanes,
        help=f"adders per spiking synapse array, at most (default {limits.synapse_lanes}; "
        "the plan takes the banks that share the outputs most evenly)",
    )
    group.add_argument(
        "--multiplier-lanes",
        type=positive_int,
        default=limits.multiplier_lanes,
        help=f"multipliers of the analog first layer, at most (default {limits.multiplier_lanes})",
    )
    group.add_argument(
        "--fire-lanes",
        type=positive_int,
        default=limits.fire_lanes,
        help=f"neurons integrated per cycle per stage (default {limits.fire_lanes})",
    )
    group.add_argument(
        "--double-buffer",
        action=argparse.BooleanOptionalAction,
        default=limits.double_buffer,
        help="two current sets per stage: accumulate the next step while firing this one "
        "(default: yes; --no-double-buffer alternates them: slower, fewer LUTs)",
    )
    group.add_argument(
        "--link-depth",
        type=positive_int,
        default=limits.link_depth,
        help=f"events buffered between two stages (default {limits.link_depth}: one block "
        "RAM; lets a stage run ahead of the next through busy steps)",
    )


def plan_for(net: Network, args: argparse.Namespace) -> list[StagePlan]:
    """The default plan within the budgets given on the command line."""
    from ..rtl.plan import PlanLimits, default_plan
    from ..rtl.stages import build_stages

    limits = PlanLimits(
        synapse_lanes=args.synapse_lanes,
        multiplier_lanes=args.multiplier_lanes,
        fire_lanes=args.fire_lanes,
        double_buffer=args.double_buffer,
        link_depth=args.link_depth,
    )
    return default_plan(build_stages(net), limits)
