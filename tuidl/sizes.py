"""Byte counts for people: one formatter for every message and listing that shows a size."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_bytes(n: float) -> str:
    """``n`` bytes in binary units: ``"24 bytes"``, ``"1.5 KiB"``, ..., ``"1,117.6 TiB"``
    (larger counts stay in TiB)."""
    if abs(n) < 1024:
        return f"{n:,.0f} bytes"
    for unit in _UNITS:
        n /= 1024
        if abs(n) < 1024 or unit == _UNITS[-1]:
            break
    return f"{n:,.1f} {unit}"
