"""Tests of ``auralisation explore`` that need no browser: bad input gives a clear error before any server starts,
and Voila is told to serve the explorer alone (the browser tests in test_browser.py check the page itself)."""

from __future__ import annotations

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
