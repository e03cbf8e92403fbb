"""One error for a bad argument: :class:`ParameterError` names the value and the valid choices or range.

Each case is a call a user could make with a value out of range or an unknown choice; the error must be a
ParameterError (so also an AuralisationError and a ValueError, which older callers catch) and its message must
name what is wrong.
"""

from __future__ import annotations

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from auralisation import _compat  # noqa: E402
from auralisation.errors import AuralisationError, ParameterError  # noqa: E402


def _cases() -> list[tuple[str, object]]:
    from auralisation.atlas.topk import TopK
    from auralisation.audio import AudioConfig, compress, write_wav
    from auralisation.auralise import loudness_gains, parse_features, parse_layers
    from auralisation.deconv.rules import check_rule, check_seeding
    from auralisation.lru import LRU
    from auralisation.methods import check_method
    from auralisation.methods.faithfulness import rank_bins
    from auralisation.methods.listenable import map_to_mask
    from auralisation.train import make_strategy
    from auralisation.zoo import build

    return [
        ("hop_length", lambda: AudioConfig(hop_length=0)),
        ("unknown AudioConfig fields", lambda: AudioConfig.from_dict({"n_mels": 96})),
        ("scaling must be one of", lambda: compress(np.ones((2, 2)), "cubic")),
        ("normalize must be 'peak' or 'none'", lambda: write_wav("never.wav", np.zeros(4), 100, normalize="rms")),
        ("unknown loudness 'loud'", lambda: loudness_gains(np.ones((1, 3)), "loud")),
        ("runs backwards", lambda: parse_layers("5-1")),
        ("numbers from 0", lambda: parse_features("x")),
        ("unknown rule 'lrp'", lambda: check_rule("lrp")),
        ("unknown seeding 'mean'", lambda: check_seeding("mean")),
        ("unknown attribution method 'lime'", lambda: check_method("lime")),
        ("unknown ranking 'rank'", lambda: rank_bins(np.ones((2, 2)), "rank")),
        ("unknown masking 'binary'", lambda: map_to_mask(np.ones((2, 2)), "binary")),
        ("cache size must be at least 1", lambda: LRU(0)),
        ("k must be at least 1", lambda: TopK(4, 0)),
        ("unknown strategy 'multiworker'", lambda: make_strategy("multiworker")),
        ("no zoo model 'vgg'", lambda: build("vgg", AudioConfig(), 2)),
    ]


def test_bad_values_raise_parameter_error_naming_the_problem(tmp_path) -> None:
    os.chdir(tmp_path)  # nothing may be written, but if it were, not into the repository
    for match, call in _cases():
        with pytest.raises(ParameterError, match=match) as caught:
            call()
        assert isinstance(caught.value, AuralisationError) and isinstance(caught.value, ValueError)
    assert not list(tmp_path.iterdir())


def test_renamed_keyword_helper() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _compat.renamed("seed", "seeding", None, "max", where="f", default="map") == "max"  # no warning

    def f(seeding: str = "map", seed: str | None = None) -> str:
        return _compat.renamed("seed", "seeding", seed, seeding, where="f", default="map")

    with pytest.warns(DeprecationWarning, match=r"f\(seed=...\) is deprecated.*use seeding=") as caught:
        assert f(seed="max") == "max"
    assert caught[0].filename == __file__  # the warning points at the line that called f, not into the package
    with pytest.raises(ParameterError, match="give seeding= only"):
        _compat.renamed("seed", "seeding", "max", "map2", where="f", default="map")


def test_renamed_option_keeps_the_old_flag_working(capsys) -> None:
    parser = argparse.ArgumentParser()
    _compat.add_seeding_argument(parser)
    assert parser.parse_args([]).seeding == "map"
    assert parser.parse_args(["--seeding", "max"]).seeding == "max"
    assert capsys.readouterr().err == ""
    assert parser.parse_args(["--seed", "max"]).seeding == "max"
    assert "--seed is deprecated" in capsys.readouterr().err
    assert "--seed " not in parser.format_help()  # the old spelling is hidden
    with pytest.raises(SystemExit):
        parser.parse_args(["--seed", "7"])  # an integer seed is not a seeding
