"""Decoding the core's CTRL/STATUS and the AXI DMA's status registers into words (no pynq)."""

from __future__ import annotations

from .. import contract
from . import hwinfo

AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = (
    contract.AP_START, contract.AP_DONE, contract.AP_IDLE, contract.AP_READY, contract.AUTO_RESTART
)

_CTRL_BITS = [(b.mask, b.name.lower()) for b in contract.register_bits("CTRL")]
_STATUS_BITS = [(b.mask, b.meaning) for b in contract.register_bits("STATUS")]
_DMASR_BITS = [
    (hwinfo.DMASR_HALTED, "halted"),
    (hwinfo.DMASR_IDLE, "idle"),
    (hwinfo.DMASR_INT_ERR, "DMAIntErr (stream longer than the transfer, or length 0)"),
    (hwinfo.DMASR_SLV_ERR, "DMASlvErr (memory slave error)"),
    (hwinfo.DMASR_DEC_ERR, "DMADecErr (address decodes to no memory)"),
    (hwinfo.DMASR_IOC_IRQ, "IOC_Irq"),
    (hwinfo.DMASR_ERR_IRQ, "Err_Irq"),
]
DMASR_ERRORS = hwinfo.DMASR_INT_ERR | hwinfo.DMASR_SLV_ERR | hwinfo.DMASR_DEC_ERR


def _describe(value: int, bits: list[tuple[int, str]], empty: str) -> str:
    names = [name for bit, name in bits if value & bit]
    return f"0x{value:08X} ({', '.join(names) if names else empty})"


def describe_ctrl(value: int) -> str:
    """CTRL, e.g. ``0x00000004 (ap_idle)``."""
    return _describe(value, _CTRL_BITS, "busy")


def describe_core_status(value: int) -> str:
    """STATUS, e.g. ``0x00000002 (no TLAST on an image's last beat)``."""
    return _describe(value, _STATUS_BITS, "no error")


def describe_dmasr(value: int) -> str:
    """MM2S_DMASR / S2MM_DMASR, e.g. ``0x00001002 (idle, IOC_Irq)``."""
    return _describe(value, _DMASR_BITS, "running")
