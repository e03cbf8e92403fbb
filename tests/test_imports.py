"""The package's entry points: what ``import auralisation`` loads, what loading a model needs, the old names.

The import checks run in a fresh interpreter (a subprocess), where ``sys.modules`` shows what an import really
loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter that imports this checkout; return its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_import_auralisation_loads_no_numerics() -> None:
    out = _run("""
        import sys
        import auralisation
        heavy = [name for name in ("numpy", "tensorflow", "keras", "librosa", "sklearn") if name in sys.modules]
        print(heavy, sorted(name for name in sys.modules if name.startswith("auralisation")))
    """)
    assert out.strip() == "[] ['auralisation', 'auralisation.errors']"


def test_saving_and_loading_a_model_needs_no_scikit_learn() -> None:
    """With scikit-learn made unimportable, a model still saves and loads, and no training module is imported."""
    out = _run("""
        import sys, tempfile
        sys.modules["sklearn"] = None  # any `import sklearn` now raises ImportError
        from auralisation.audio import AudioConfig
        from auralisation.io import load_model, save_model
        from auralisation.models import choi2016
        config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
        folder = save_model(tempfile.mkdtemp() + "/m", choi2016(config, 2, width=2, seed=0), config, ["a", "b"])
        trained = load_model(folder)
        loaded = [name for name in ("auralisation.training", "auralisation.evaluate", "auralisation.baseline",
                                    "auralisation.data") if name in sys.modules]
        print(trained.classes, trained.config == config, loaded)
    """)
    assert out.strip() == "['a', 'b'] True []"


def test_every_public_name_resolves_and_auralise_is_the_function() -> None:
    import numpy as np

    import auralisation
    from auralisation.audio import AudioConfig, stft
    from auralisation.auralise import auralise as function

    for name in auralisation.__all__:
        assert getattr(auralisation, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        auralisation.nope  # noqa: B018
    config = AudioConfig(n_fft=62, hop_length=64, duration=0.2)
    X = stft(np.sin(np.arange(config.n_samples, dtype=np.float32)), config)
    D = np.stack([np.ones(X.shape), 0.5 * np.ones(X.shape)]).astype(np.float32)
    np.testing.assert_array_equal(auralisation.auralise(X, D, config), function(X, D, config))


def test_old_train_module_names_warn_and_are_the_new_objects() -> None:
    import auralisation.train as old
    from auralisation import io, training
    from auralisation.cli import options

    for name, new, home in (("load_model", io.load_model, "auralisation.io"),
                            ("TrainSettings", training.TrainSettings, "auralisation.training"),
                            ("MODEL_FILE", io.MODEL_FILE, "auralisation.io"),
                            ("model_from_arguments", options.model_from_arguments, "auralisation.cli.options")):
        with pytest.warns(DeprecationWarning, match=rf"auralisation.train.{name} is deprecated.*use {home}.{name}"):
            assert getattr(old, name) is new
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            old.nope  # noqa: B018
