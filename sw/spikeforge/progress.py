"""Progress bars for long steps; ``quiet`` turns them off."""

from __future__ import annotations

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, quiet: bool = False, unit: str = "it") -> tqdm:
    """A tqdm bar on stderr that disappears when quiet."""
    return tqdm(total=total, desc=desc, unit=unit, disable=quiet, leave=False, dynamic_ncols=True)
