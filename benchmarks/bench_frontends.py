"""How long does it take to deconvolve every feature of one clip, for each architecture and front end? One run.

For one 4 s clip (notebook 2's "full band"), every feature of every block, back to the linear STFT, under the
deconvnet rule (:meth:`auralisation.methods.Attributor.maps`):

(a) ``choi2016`` on the linear magnitude (the paper's network: 5 x 64 features);
(b) ``choi2017`` on the linear magnitude through its 96-band mel filterbank and dB, the transpose route (the
    gradient is taken at the linear input: 5 x 32 features);
(c) the same ``choi2017`` by the pseudo-inverse route (gradient at the filterbank's output, then ``pinv(M)``);
(d) ``choi2016`` on the waveform, through Keras's ``STFTSpectrogram`` (the gradient taken at its output).

Times are the best of ``--repeats`` runs after a warm-up run that compiles the functions (:func:`best_time` of
``bench_deconv``); the machine may be shared, so the best run is the least disturbed, and the ratios to (a), measured
side by side, are what to compare. The models are ``models/choi2016`` and ``models/choi2017`` when they exist (the
trained ones), else randomly initialised (the cost does not depend on the weights); the output says which.

Run: ``python benchmarks/bench_frontends.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_deconv import best_time  # noqa: E402

from auralisation.audio import AudioConfig, FrontEnd  # noqa: E402
from auralisation.frontends import model_input  # noqa: E402
from auralisation.methods import Attributor  # noqa: E402
from auralisation.models import ARCHITECTURES  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402
from auralisation.synth import demo_clips  # noqa: E402
from auralisation.io import load_model  # noqa: E402
from auralisation.training import ARCH_CONFIGS  # noqa: E402


def trained_or_random(arch: str) -> tuple[keras.Model, AudioConfig, str]:
    """The trained ``arch`` from the project's models folder if there is one, else a random one; and which."""
    folder = project_paths(fast=False).models / arch
    if (folder / "model.keras").is_file():
        trained = load_model(folder)
        return trained.model, trained.config, f"trained ({folder})"
    config = ARCH_CONFIGS[arch]
    return ARCHITECTURES[arch](config, n_classes=8, seed=0), config, "random weights (not trained yet)"


def all_features(attributor: Attributor, inputs: object) -> None:
    """Deconvolve every feature of every block of one clip."""
    for layer in range(1, len(attributor.deconvolver("deconvnet").layer_names) + 1):
        attributor.maps(inputs, layer)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (best is kept)")
    args = parser.parse_args(argv)

    choi2016, config_2016, which_2016 = trained_or_random("choi2016")
    choi2017, config_2017, which_2017 = trained_or_random("choi2017")
    waveform_config = dataclasses.replace(config_2016, frontend=FrontEnd(input="waveform"))
    on_waveform = ARCHITECTURES["choi2016"](waveform_config, n_classes=8, seed=0)
    y = demo_clips(config_2016)["full band"]
    cases = {
        "(a) choi2016, linear magnitude": (choi2016, config_2016, "transpose", which_2016),
        "(b) choi2017, mel + dB, transpose": (choi2017, config_2017, "transpose", which_2017),
        "(c) choi2017, mel + dB, pinv": (choi2017, config_2017, "pinv", which_2017),
        "(d) choi2016 on the waveform (STFTSpectrogram)": (on_waveform, waveform_config, "transpose", "random weights"),
    }
    times = {}
    for name, (model, config, route, which) in cases.items():
        attributor = Attributor(model, config, route=route)
        deconvolver = attributor.deconvolver("deconvnet")
        inputs = model_input(y, config)
        count = sum(deconvolver.n_features(layer) for layer in range(1, len(deconvolver.layer_names) + 1))
        times[name] = best_time(lambda: all_features(attributor, inputs), args.repeats)
        print(f"{name}: {count} features in {times[name]:.2f} s ({which})")
    first = next(iter(times.values()))
    print("relative to (a): " + ", ".join(f"{name[:3]} {value / first:.2f}x" for name, value in times.items()))


if __name__ == "__main__":
    main()
