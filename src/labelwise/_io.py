"""Durable file writes: the one place labelwise writes a file it must not lose or corrupt.

- :func:`atomic_write_text` / :func:`atomic_write_bytes`: write to a temporary file beside
  the target, fsync it, then ``os.replace`` it over the target (atomic on POSIX), so a
  reader sees the old file or the new one, never half of one.
- :func:`append_line_durably`: append one line to an open log and fsync before returning.
- :func:`exclusive_lock`: an advisory lock on a folder or file (``fcntl.flock`` on a
  ``.lock`` file beside it) that refuses a second writer at once with :class:`LockedError`
  instead of letting two processes interleave their writes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from labelwise.errors import LockedError

try:  # POSIX; on Windows the lock degrades to a no-op (documented in LockedError's use sites)
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None  # type: ignore[assignment]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (or the old file's)
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.exists() else _default_mode())
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)
    return path


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Replace ``path`` with ``text`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def append_line_durably(handle: IO[str], line: str) -> None:
    """Append ``line`` (a newline is added when missing) to an open text handle and fsync:
    when this returns, the line survives a killed process or a power cut."""
    handle.write(line if line.endswith("\n") else line + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """fsync a folder so a rename inside it is durable (a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def exclusive_lock(target: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold an exclusive advisory lock on ``target`` (a file or folder) for the ``with`` block.

    The lock file is ``<target>.lock`` (beside a file) or ``<target>/.lock`` (inside a
    folder). A second holder, in this process or another, gets :class:`LockedError` at once,
    naming ``what`` is locked and by which process. The lock dies with its process, so a
    crash never leaves a stale lock behind.
    """
    target = Path(target)
    if target.is_dir():
        lock_path = target / ".lock"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock_path = target.with_name(target.name + ".lock")
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise LockedError(
                    f"{what} {target} is in use by {holder} (lock file {lock_path}). "
                    "Fix: wait for that run to finish or stop it; two writers would interleave "
                    "their records. If no such process exists, the lock is already free: retry."
                ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        yield lock_path
    finally:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
