"""Example clips of rising complexity, rendered from the default dataset's generated MIDI."""

from __future__ import annotations

import numpy as np

from ..audio import AudioConfig
from .fluid import render
from .compose import compose_track

__all__ = ["demo_clips"]


def demo_clips(config: AudioConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Three clips of rising complexity, rendered from generated MIDI and peak-normalised to 0.99.

    ``"solo"``: the melody part of generated classical track 0; ``"lead and accompaniment"``: that whole track;
    ``"full band"``: generated rock track 0 (guitar, bass, drums). Notebooks 02 and 03 listen to them.

    Parameters
    ----------
    config : AudioConfig
        Duration and sample rate of the clips.
    seed : int
        The dataset seed the tracks are composed from.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 waveforms of ``config.n_samples`` samples, by name.

    Raises
    ------
    SynthError
        FluidSynth or a soundfont is missing (the message says what to install).
    """
    classical = compose_track("classical", seed, 0, config.duration)
    parts = {
        "solo": [part for part in classical if part.name == "melody"],
        "lead and accompaniment": classical,
        "full band": compose_track("rock", seed, 0, config.duration),
    }
    clips = {}
    for name, instruments in parts.items():
        y = render(instruments, config.duration, sr=config.sr)
        clips[name] = (0.99 * y / max(float(np.max(np.abs(y))), 1e-12)).astype(np.float32)
    return clips
