"""Draw the README's picture, ``docs/images/deconvolved-grid.png``: the deconvolved maps of a trained network.

The network is the fast mode's ``choi2016`` (``models/fast/choi2016``, as notebook 01 leaves it under
``AURALISATION_FAST=1``); where there is none, this script renders the fast data and trains it the way notebook 01
does (a few minutes on 2 cores). The clip is the "full band" demo clip (a generated rock track: guitar, bass,
drums), which no network has trained on. Each row is a block; its columns are the clip's spectrogram and the
deconvolved maps ``D`` of the block's three most active features (:func:`auralisation.features.feature_strengths`)
under whole-map seeding, the authors' setting.

Run once, from the repository root: ``.venv/bin/python scripts/readme_figure.py``; the PNG is committed.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from PIL import Image  # noqa: E402

from auralisation import plotting  # noqa: E402
from auralisation.clip import Clip  # noqa: E402
from auralisation.deconv import Deconvolver  # noqa: E402
from auralisation.features import feature_strengths, strongest_first  # noqa: E402
from auralisation.io import TrainedModel, load_model  # noqa: E402
from auralisation.paths import project_paths  # noqa: E402
from auralisation.synth.examples import demo_clips  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: The columns: each block's features by decreasing activation (their numbers label the row).
COLUMNS = ("most active", "second", "third")


def fast_model() -> TrainedModel:
    """The fast mode's trained ``choi2016``, trained (on fast data, rendered if missing) where there is none."""
    paths = project_paths(fast=True)
    folder = paths.models / "choi2016"
    if not (folder / "model.keras").is_file():
        from auralisation.synth import generate_default
        from auralisation.training import ARCH_CONFIGS, TrainSettings, prepare_data, train_and_evaluate

        if not paths.data.exists():  # notebook 01's fast data
            generate_default(paths.data, seed=0, progress=False, stems=True, tracks_per_style=4, seconds=8.0)
        settings = TrainSettings.for_mode(True)
        data = prepare_data(paths.data, ARCH_CONFIGS["choi2016"], paths.cache, hop=settings.hop,
                            fractions=settings.fractions, seed=0)
        train_and_evaluate(data, folder, settings, verbose=2)
    return load_model(folder)


def main() -> None:
    """Draw the grid and write it (smaller than 300 kB)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "deconvolved-grid.png")
    args = parser.parse_args()
    trained = fast_model()
    clip = Clip.from_waveform(demo_clips(trained.config)["full band"], trained.config, name="full band")
    deconvolver = Deconvolver(trained.model)
    maps = {}
    for layer in range(1, len(deconvolver.layer_names) + 1):
        strengths = feature_strengths(deconvolver.activations(clip.S, layer))
        features = [int(k) for k in strongest_first(strengths)[:len(COLUMNS)]]
        D = deconvolver.deconvolve(clip.S, layer, features)
        row = f"block {layer}: " + ", ".join(map(str, features))
        maps[row] = dict(zip(COLUMNS, D))
    figure = plotting.map_grid(maps, trained.config, spectrogram_of=clip.S, cell_title=None, size=(2.2, 1.5),
                               title="A clip and the deconvolved maps D of each block's most active features")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    # 128 colours: the maps' two colour scales survive, the file shrinks about fivefold
    Image.open(buffer).convert("RGB").quantize(colors=128).save(args.out, optimize=True)
    print(f"{args.out.relative_to(ROOT)}: {args.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
