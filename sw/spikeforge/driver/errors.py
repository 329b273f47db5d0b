"""Errors of the board driver: each message names the problem and what to do about it."""

from __future__ import annotations

from ..errors import UserError


class DriverError(UserError):
    """The accelerator cannot run the request."""


class PynqMissingError(DriverError, ImportError):
    """pynq is not importable in this Python."""


class BatchTooLargeError(DriverError, ValueError):
    """More images than the DMA buffers hold."""


class TimestepsError(DriverError, ValueError):
    """T outside 1 .. the core's MAX_TIMESTEPS."""


class BuildIdMismatchError(DriverError):
    """The bitstream's core was built from another network."""


class OverlayError(DriverError):
    """The overlay lacks the core or the DMA, or binds them to the wrong driver."""


class DmaError(DriverError):
    """A DMA transfer failed or timed out (the message carries the status registers)."""


class DmaTimeoutError(DmaError, TimeoutError):
    """A DMA transfer or the core's ap_done did not complete in time."""


class CoreStatusError(DriverError):
    """The core flagged a malformed stream or a bad TIMESTEPS in its STATUS register."""


class AcceleratorStateError(DriverError):
    """The accelerator is unusable after an earlier failure."""


class AcceleratorClosedError(AcceleratorStateError):
    """The accelerator was closed: its DMA buffers are freed."""


def require_pynq():
    """Import pynq or explain where it comes from."""
    try:
        import pynq
    except ImportError as err:
        raise PynqMissingError(
            f"the board driver needs pynq ({err}). A PYNQ board image has it; on a PC run "
            "`make venv-pynq` and use .venv-pynq/bin/python (pynq needs numpy<2, so it stays "
            "out of the main .venv)"
        ) from err
    return pynq
