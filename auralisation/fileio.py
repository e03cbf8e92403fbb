"""Writing files so that a crash never leaves one half-written, and others can read what was written.

Every file this package writes goes through :func:`atomic_path`: the content is written to a temporary file in
the destination folder, flushed to the disk (``fsync``), and renamed over the destination only once it is
complete; the folder is then synced too, so the rename survives a power cut where the system allows it. A process
killed mid-write leaves the old file (or none), never a partial one.

Temporary files and folders are created as :func:`open` and :func:`os.mkdir` create them: with the user's umask
(``-rw-r--r--`` and ``drwxr-xr-x`` under umask 022), not the owner-only modes of :func:`tempfile.mkstemp` and
:func:`tempfile.mkdtemp`, so a model, a table or a site written here is as readable as any file the user writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["LOCK_FILE", "atomic_path", "atomic_write_bytes", "atomic_write_text", "exclusive", "fsync_folder",
           "temporary_folder"]

#: The lock file :func:`exclusive` holds in a folder.
LOCK_FILE = ".lock"

#: Attempts at a fresh temporary name before giving up (each is 64 random bits).
_ATTEMPTS = 100


def _create_unique(parent: Path, prefix: str, suffix: str, create: Callable[[Path], None]) -> Path:
    """Create a new entry ``parent/<prefix><random><suffix>`` with ``create`` (which fails if it exists)."""
    for _ in range(_ATTEMPTS):
        candidate = parent / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            create(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{parent}: no free temporary name after {_ATTEMPTS} attempts")


def _create_file(path: Path) -> None:
    """Create an empty file as ``open(path, "x")`` would: mode 0666 less the umask."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _fsync_file(path: Path) -> None:
    """Flush ``path``'s content to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush ``folder``'s entries (a rename into it, say) to the disk, where the system allows it (POSIX)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:  # Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def temporary_folder(destination: str | os.PathLike[str]) -> Path:
    """Create an empty staging folder beside ``destination``, with the user's umask (as :func:`os.mkdir`).

    The caller fills it and renames it onto ``destination`` (see :func:`auralisation.io.save_model`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> staging = temporary_folder(parent / "model")
    >>> staging.parent == parent, staging.name.startswith(".model.tmp-"), staging.is_dir()
    (True, True, True)
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    return _create_unique(destination.parent, f".{destination.name}.tmp-", "", lambda p: p.mkdir(0o777))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; sync it and rename it onto ``path`` if the block succeeds.

    Parameters
    ----------
    path : path-like
        The destination. Its parent folders are created. The temporary file keeps the destination's suffix, so
        writers that choose a format by extension (soundfile, Keras, matplotlib) still work; it exists (empty)
        when the block starts, with the mode ``open()`` would give it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (folder / "a.txt").read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_unique(path.parent, f".{path.stem}.tmp-", path.suffix, _create_file)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
        fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def exclusive(folder: str | os.PathLike[str], what: str = "folder") -> Iterator[Path]:
    """Hold ``folder`` for this process alone while the block runs (``flock`` on ``folder/.lock``).

    The lock goes with the process: a killed run leaves at most a stale ``.lock`` file, which locks nothing. A
    second process (or a second holder in this one) is refused at once, with the first one's process id. The file
    is removed when the block ends.

    Parameters
    ----------
    folder : path-like
        Created if missing.
    what : str
        What the folder is, for the error message ("model folder", "spectrogram cache").

    Raises
    ------
    AuralisationError
        Another process holds the folder.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with exclusive(folder, "model folder"):
    ...     with exclusive(folder, "model folder"):
    ...         pass
    Traceback (most recent call last):
    auralisation.errors.AuralisationError: model folder ... is being written by process ...; wait for it to finish...
    """
    from .errors import AuralisationError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise AuralisationError(
                f"{what} {folder} is being written by process {holder}; wait for it to finish (or stop it), or "
                "write elsewhere"
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break  # the lock file is still the one in the folder (its last holder did not remove it meanwhile)
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield folder
    finally:
        path.unlink(missing_ok=True)  # while still held, so that no one locks a file about to disappear
        os.close(fd)  # closing releases the lock
