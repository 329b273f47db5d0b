"""The HLS backend: a templated HLS C++ library (hls/include/spikeforge), a generator that
writes a complete Vitis HLS project for a network, C simulation with g++, the analytic
cycle model, resource checks and the hls4ml ANN baseline."""

from __future__ import annotations

from .csim import build_csim, run_beats, run_csim
from .options import HlsOptions
from .plan import plan_network
from .plan_types import HlsPlanError
from .project import generate_project

__all__ = [
    "HlsOptions",
    "HlsPlanError",
    "build_csim",
    "generate_project",
    "plan_network",
    "run_beats",
    "run_csim",
]
