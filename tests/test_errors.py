"""One error for a bad argument: :class:`ParameterError` names the value and the valid choices or range.

Each case is a call a user could make with a value out of range or an unknown choice; the error must be a
ParameterError (so also an AuralisationError and a ValueError, which older callers catch) and its message must
name what is wrong.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from auralisation.errors import AuralisationError, ParameterError  # noqa: E402


def _cases() -> list[tuple[str, object]]:
    from auralisation.atlas.topk import TopK
    from auralisation.audio import AudioConfig, compress, write_wav
    from auralisation.auralise import loudness_gains
    from auralisation.deconv.rules import check_rule, check_seeding
    from auralisation.lru import LRU
    from auralisation.methods import check_method
    from auralisation.methods.faithfulness import rank_bins
    from auralisation.methods.listenable import map_to_mask
    from auralisation.training import make_strategy
    from auralisation.zoo import build

    return [
        ("hop_length", lambda: AudioConfig(hop_length=0)),
        ("unknown AudioConfig fields", lambda: AudioConfig.from_dict({"n_mels": 96})),
        ("scaling must be one of", lambda: compress(np.ones((2, 2)), "cubic")),
        ("normalize must be 'peak' or 'none'", lambda: write_wav("never.wav", np.zeros(4), 100, normalize="rms")),
        ("unknown loudness 'loud'", lambda: loudness_gains(np.ones((1, 3)), "loud")),
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
