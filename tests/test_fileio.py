"""auralisation.fileio: written files and folders get the user's umask, and a kill mid-write leaves no partial file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from auralisation.fileio import atomic_path, atomic_write_bytes, atomic_write_text, temporary_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this umask, then restore the old one."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_and_folders_get_the_umask_as_open_and_mkdir_give(tmp_path: Path, umask: int) -> None:
    with open(tmp_path / "by-open", "w") as handle:  # the reference: what open() and os.mkdir give
        handle.write("x")
    os.mkdir(tmp_path / "by-mkdir")
    assert _mode(tmp_path / "by-open") == 0o666 & ~umask and _mode(tmp_path / "by-mkdir") == 0o777 & ~umask

    written = atomic_write_text(tmp_path / "deep" / "a.json", "{}")
    assert _mode(written) == _mode(tmp_path / "by-open")
    assert _mode(tmp_path / "deep") == _mode(tmp_path / "by-mkdir")
    atomic_write_bytes(written, b"again")  # replacing a file gives the same mode
    assert _mode(written) == _mode(tmp_path / "by-open")
    staging = temporary_folder(tmp_path / "model")
    assert _mode(staging) == _mode(tmp_path / "by-mkdir")


def test_a_saved_model_folder_and_its_files_get_the_umask(tmp_path: Path, umask: int) -> None:
    from auralisation.audio import AudioConfig
    from auralisation.io import save_model
    from auralisation.models import choi2016

    config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
    folder = save_model(tmp_path / "models" / "tiny", choi2016(config, 2, width=2, seed=0), config, ["a", "b"])
    assert {_mode(folder), _mode(folder.parent)} == {0o777 & ~umask}
    assert {path.name: _mode(path) for path in folder.iterdir()} == {
        name: 0o666 & ~umask for name in ("model.keras", "config.json", "classes.json")
    }


def test_a_failed_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


#: A writer that writes half of a 64 MB file through atomic_path, says so on stdout, and waits to be killed.
_WRITER = """
    import sys, time
    from auralisation.fileio import atomic_path
    chunk = b"n" * (1 << 20)
    with atomic_path(sys.argv[1]) as tmp:
        with open(tmp, "wb") as handle:
            for _ in range(32):
                handle.write(chunk)
            handle.flush()
            print("half written", flush=True)
            time.sleep(60)
            for _ in range(32):
                handle.write(chunk)
"""


@pytest.mark.parametrize("old", [b"old content\n", None])
def test_a_process_killed_mid_write_leaves_the_old_file_or_none(tmp_path: Path, old: bytes | None) -> None:
    target = tmp_path / "big.bin"
    if old is not None:
        target.write_bytes(old)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_WRITER), str(target)],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "half written"
        temporaries = [p for p in tmp_path.iterdir() if p.name.startswith(".big.tmp-")]
        assert len(temporaries) == 1 and temporaries[0].stat().st_size == 32 << 20  # really mid-write
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    if old is None:
        assert not target.exists()
    else:
        assert target.read_bytes() == old
