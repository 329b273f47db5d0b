"""The PYNQ driver of the spikeforge core, and its simulated device.

Imports with numpy only; the classes that talk to hardware need pynq and import it when
first used (a PYNQ board image has it; here `make venv-pynq` builds .venv-pynq):

* ``SpikeforgeAccelerator`` (``driver.accelerator``): load the overlay or the simulated
  device, ``classify(images) -> (counts, classes)``, throughput in ``last_run``;
* ``SpikeforgeCore`` (``driver.ip``): the ``DefaultIP`` bound to :data:`hwinfo.CORE_VLNV`;
* ``SimulatedDevice`` / ``SimulatedOverlay`` (``driver.sim``): the golden model behind
  the registers and the DMA;
* ``Bundle`` (``driver.bundle``, numpy only): the folder ``spikeforge package`` writes.
"""

from __future__ import annotations

from .errors import DriverError, require_pynq
from .hwinfo import CORE_VLNV

_LAZY = {
    "SpikeforgeAccelerator": ".accelerator",
    "RunStats": ".accelerator",
    "SpikeforgeCore": ".ip",
    "SimulatedDevice": ".sim",
    "SimulatedOverlay": ".sim",
    "Bundle": ".bundle",
    "PowerMeter": ".power",
}

__all__ = ["CORE_VLNV", "DriverError", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    if _LAZY[name] != ".bundle":
        require_pynq()
    return getattr(importlib.import_module(_LAZY[name], __name__), name)
