"""Board power while the accelerator runs, from PYNQ's PMBus rails (``pynq.get_rails``).

Boards with PMBus sensors (ZCU104: the ``12V`` input rail) report watts; the PYNQ-Z2 has
none, and the simulated device has no power at all: then :attr:`PowerMeter.reason` says
why no energy figure is given, rather than inventing one.
"""

from __future__ import annotations

import threading
import time
import warnings

from .errors import DriverError, require_pynq


class PowerMeter:
    """Samples one rail's power sensor in a background thread."""

    def __init__(self, rail: str | None, interval: float = 0.05, simulated: bool = False):
        self.rail, self.interval = rail, interval
        self.samples: list[float] = []
        self._sensor = None
        self.reason: str | None = None
        if simulated:
            self.reason = "the simulated device has no power sensors"
            return
        pynq = require_pynq()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Could not initialise libsensors" off-board
            rails = pynq.get_rails()
        powered = {name: r for name, r in rails.items() if getattr(r, "power", None)}
        if rail is None:
            self.reason = (
                "this board's preset names no power rail"
                + (f" (rails with power sensors: {', '.join(powered)}; pass rail=)" if powered
                   else " and pynq.get_rails() finds no power sensors (the PYNQ-Z2 has none)")
            )
        elif rail not in powered:
            raise DriverError(
                f"power rail {rail!r} not found; rails with power sensors: "
                f"{', '.join(powered) or 'none'}"
            )
        else:
            self._sensor = powered[rail].power

    @property
    def available(self) -> bool:
        return self._sensor is not None

    def _sample(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.samples.append(float(self._sensor.value))
            stop.wait(self.interval)

    def record(self):
        """Context manager: sample while the block runs (no-op when unavailable)."""
        return _Recording(self)

    def idle_watts(self, seconds: float = 1.0) -> float:
        """Mean power over ``seconds`` with nothing running: the baseline."""
        with self.record() as recording:
            time.sleep(seconds)
        return recording.mean_watts

    @property
    def mean_watts(self) -> float:
        if not self.samples:
            raise DriverError(f"no power samples recorded ({self.reason or 'record() first'})")
        return sum(self.samples) / len(self.samples)


class _Recording:
    def __init__(self, meter: PowerMeter) -> None:
        self.meter = meter
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mean_watts = float("nan")

    def __enter__(self):
        self.meter.samples = []
        if self.meter.available:
            self._thread = threading.Thread(target=self.meter._sample, args=(self._stop,))
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.mean_watts = self.meter.mean_watts
