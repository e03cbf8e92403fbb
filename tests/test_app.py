"""Tests of ``auralisation explore`` that need no browser: bad input gives a clear error before any server starts,
and Voila is told to serve the explorer alone (the browser tests in test_browser.py check the page itself)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from auralisation.app import NOTEBOOK, voila_argv  # noqa: E402
from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.cli import main  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.io import save_model  # noqa: E402


def test_explore_refuses_a_missing_model_and_a_bad_clip_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", "--model", str(tmp_path / "nothing"), "--no-browser"]) == 1
    assert "no such model folder" in capsys.readouterr().err
    config = AudioConfig(duration=0.25, n_fft=64, hop_length=32)
    model = save_model(tmp_path / "model", choi2016(config, 2, width=2, seed=0), config, ["a", "b"])
    (tmp_path / "notes.txt").write_text("not audio")
    assert main(["explore", "--model", str(model), "--audio", str(tmp_path / "notes.txt"), "--no-browser"]) == 1
    assert "notes.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["explore", "--model", str(model), "--port", "70000"])
    assert "not a port number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["explore", "--model", str(model), "--max-visitors", "0"])
    assert "not a whole number of at least 1" in capsys.readouterr().err


def test_voila_serves_the_shipped_notebook_alone_on_localhost() -> None:
    argv = voila_argv(port=8123, token="t0ken")
    assert argv[0] == str(NOTEBOOK) and NOTEBOOK.is_file()
    assert {"--Voila.ip=127.0.0.1", "--port=8123", "--Voila.token=t0ken", "--strip_sources=True",
            "--show_tracebacks=False", "--VoilaConfiguration.file_denylist=.*", "--no-browser"} <= set(argv)
    assert (NOTEBOOK.parent / "jupyter" / "voila" / "templates" / "explorer" / "index.html.j2").is_file()


def test_the_app_explores_a_users_keras_file_with_its_audio_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auralisation import zoo
    from auralisation.app import ENV_AUDIO, ENV_CONFIG, ENV_MODEL, explorer_from_environment

    config = AudioConfig(n_fft=128, hop_length=64, duration=0.5)
    path = tmp_path / "mine.keras"
    zoo.build("vggish", config, n_classes=2).save(path)
    monkeypatch.setenv(ENV_MODEL, str(path))
    monkeypatch.setenv(ENV_AUDIO, "[]")
    monkeypatch.setenv(ENV_CONFIG, config.to_json())
    explorer = explorer_from_environment()
    assert explorer.config == config and explorer.cache.deconvolver.layer_names == ["backbone/pool1", "backbone/pool2"]


def test_the_app_holds_at_most_its_visitors_and_frees_an_idle_seat(tmp_path: Path) -> None:
    from tornado import web

    from auralisation.app.visitors import VisitorKernelManager

    async def visitors() -> None:
        manager = VisitorKernelManager(max_kernels=1, cull_idle_timeout=2, cull_interval=1, cull_connected=True,
                                       connection_dir=str(tmp_path))
        try:
            first = await manager.start_kernel()
            with pytest.raises(web.HTTPError) as busy:  # the second visitor, while the first holds the only seat
                await manager.start_kernel()
            assert busy.value.status_code == 503 and "1 visitor is exploring now" in busy.value.log_message
            assert manager.list_kernel_ids() == [first]
            deadline = asyncio.get_running_loop().time() + 60
            while first in manager.list_kernel_ids():  # idle for 2 s: shut down by the culler
                assert asyncio.get_running_loop().time() < deadline, "the idle kernel was not culled within 60 s"
                await asyncio.sleep(0.2)
            assert await manager.start_kernel() in manager.list_kernel_ids()  # its seat is free again
        finally:
            await manager.shutdown_all(now=True)

    asyncio.run(visitors())


def test_the_default_number_of_visitors_follows_the_memory() -> None:
    from auralisation.app.visitors import BYTES_PER_VISITOR, RESERVED_BYTES, default_max_visitors

    assert default_max_visitors(RESERVED_BYTES + 3 * BYTES_PER_VISITOR) == 3
    assert default_max_visitors(RESERVED_BYTES + 3 * BYTES_PER_VISITOR - 1) == 2
    assert default_max_visitors(0) == 1
    argv = voila_argv(port=8123, token="t", max_visitors=3, idle_timeout=45)
    assert {"--VisitorKernelManager.max_kernels=3", "--VisitorKernelManager.cull_idle_timeout=45",
            "--VisitorKernelManager.cull_interval=30"} <= set(argv)
