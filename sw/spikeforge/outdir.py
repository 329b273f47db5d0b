"""Output directories that lose nothing: staged, swapped in atomically, and written only
over a directory spikeforge wrote itself.

Every command that writes a directory goes through :func:`claim_output` (early, before the
long work, so a bad ``--out`` fails at once) and :func:`staged_output`:

* the output is written into a fresh staging sibling ``.NAME.spikeforge-staging-PID-XXXX``;
* a marker file (``.spikeforge-output``, JSON naming the kind of output) is written last;
* the staging directory is swapped with the target in one ``renameat2(RENAME_EXCHANGE)``
  (Linux), so at every instant the path holds the old or the new complete output, and the
  old one, now at the staging name, is removed;
* only an absent path, an empty directory or an earlier output of the same kind (its
  marker) is replaced; a regular file, someone else's directory, another kind of output, or
  a directory holding one of the command's inputs is refused with the fix;
* staging directories left by killed runs (their process is gone) are removed by the next
  run that writes the same path.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import __version__
from .errors import UserError

MARKER = ".spikeforge-output"
STAGING_TAG = ".spikeforge-staging-"

_AT_FDCWD = -100
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_SWAP_ATTEMPTS = 20


class OutputError(UserError):
    """An output path spikeforge will not write."""


def output_kind(path: Path) -> str | None:
    """The kind recorded in ``path``'s marker, or None if spikeforge did not write it."""
    try:
        kind = json.loads((Path(path) / MARKER).read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


def claim_output(
    path: Path,
    kind: str,
    *,
    flag: str = "--out",
    inputs: Iterable[Path | None] = (),
    fix: str | None = None,
) -> Path:
    """Check that ``path`` may receive an output of ``kind``; returns it. Raises
    OutputError naming the problem and the fix (by default: another ``flag``) otherwise."""
    path = Path(path)
    where = f"{flag} {path}"
    fix = fix or f"pass another {flag} (a new path, or an earlier {kind} output of spikeforge)"
    resolved = path.resolve()
    for source in inputs:
        if source is not None and _contains(resolved, Path(source).resolve()):
            raise OutputError(
                f"{where} holds the input {source}, which writing the output would delete; "
                f"{fix}"
            )
    existing = next(p for p in (resolved, *resolved.parents) if p.exists())
    if existing != resolved and not existing.is_dir():
        raise OutputError(f"{where}: {existing} is a file, not a directory; {fix}")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputError(f"{where} exists and is not a directory; {fix}")
    if path.is_dir() and any(path.iterdir()):
        found = output_kind(path)
        if found is None:
            raise OutputError(
                f"{where} exists and was not written by spikeforge (no {MARKER} marker; "
                "outputs of spikeforge versions before the marker have none: delete such a "
                "one yourself); "
                f"spikeforge replaces only its own outputs; {fix}"
            )
        if found != kind:
            raise OutputError(f"{where} is a spikeforge {found}, not a {kind}; {fix}")
    return path


@functools.cache
def _libc_renameat2() -> Callable[..., int] | None:
    return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """``renameat2(2)``; False where the system has no such call (then the caller falls
    back to plain renames)."""
    function = _libc_renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # old kernel, or a file system without it
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def _move_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to the absent ``target``; FileExistsError if it appeared."""
    try:
        if _renameat2(staging, target, _RENAME_NOREPLACE):
            return
    except OSError as err:
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(target) from err
        raise
    if target.exists():
        raise FileExistsError(target)
    os.rename(staging, target)


def _swap(staging: Path, target: Path) -> None:
    """Exchange ``staging`` and the existing ``target`` (the old output ends at
    ``staging``); FileNotFoundError if the target vanished."""
    if _renameat2(staging, target, _RENAME_EXCHANGE):
        return
    # No atomic exchange here: move the old output aside, then the new one in.
    aside = staging.with_name(staging.name + "-old")
    os.rename(target, aside)
    os.rename(staging, target)
    os.rename(aside, staging)


def _install(staging: Path, target: Path, kind: str, flag: str, fix: str | None) -> None:
    """Put ``staging`` at ``target``; whatever was there is left at ``staging``."""
    for _ in range(_SWAP_ATTEMPTS):
        if not target.exists() and not target.is_symlink():
            try:
                _move_in(staging, target)
                return
            except FileExistsError:
                continue  # a concurrent writer got there first: replace its output
        claim_output(target, kind, flag=flag, fix=fix)
        try:
            _swap(staging, target)
            return
        except FileNotFoundError:
            continue
    raise OutputError(f"{flag} {target}: other processes keep replacing it; try again")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(target: Path) -> None:
    """Remove staging directories of ``target`` whose writing process is gone."""
    prefix = f".{target.name}{STAGING_TAG}"
    if not target.parent.is_dir():
        return
    for candidate in target.parent.iterdir():
        if not candidate.name.startswith(prefix) or not candidate.is_dir():
            continue
        pid_text = candidate.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)):
            shutil.rmtree(candidate, ignore_errors=True)


@contextlib.contextmanager
def staged_output(
    path: Path,
    kind: str,
    *,
    flag: str = "--out",
    inputs: Iterable[Path | None] = (),
    fix: str | None = None,
) -> Iterator[Path]:
    """Yield a fresh staging directory; on success mark it as a ``kind`` output and swap
    it in at ``path`` (see the module docstring). On failure the staging is removed and
    ``path`` is untouched."""
    target = claim_output(path, kind, flag=flag, inputs=inputs, fix=fix).absolute()
    remove_stale_staging(target)
    staging = target.with_name(
        f".{target.name}{STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}"
    )
    try:
        staging.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as err:
        raise OutputError(
            f"{flag} {path}: cannot create a directory beside it ({err.strerror}); choose a "
            "writable location"
        ) from err
    try:
        yield staging
        marker = {"kind": kind, "written_by": f"spikeforge {__version__}"}
        (staging / MARKER).write_text(json.dumps(marker) + "\n")
        _install(staging, target, kind, flag, fix)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
