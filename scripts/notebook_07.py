"""Write notebooks/07_pretrained.ipynb (thin: parameters, calls into the package, prose). Run from the repository root:
``.venv/bin/python scripts/notebook_07.py``."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """# 07 — A network trained on real music

Notebooks 01–06 explain networks this project trained on its own MIDI renders. The `musicnn` package (Pons and
Serra, 2019) ships four music taggers trained on real recordings: the Million Song Dataset (MSD) and MagnaTagATune
(MTT), 50 tags each. `load_model("musicnn:MSD_vgg")` rebuilds one as this project's Keras model (the mel front end
inside it, so maps come back to the linear STFT and are heard with the clip's phase) with the weights of the
installed package's checkpoint, held equal to an independent forward pass in `tests/test_pretrained.py`.

Here the two VGG-like taggers (five blocks of 3x3 convolutions, 128 filters each, as the 2016 paper's network)
tag the bundled data and, if you give one, a folder of your own music; we listen to a few of their features layer
by layer; we check their instrument tags against the instruments the bundled tracks are known to play, and measure
which stems its features pass; and we run
the paper's correlation analysis on its 124 stimuli for these networks next to untrained copies of them."""),
    ("md", """## Parameters

Fast mode (`AURALISATION_FAST=1`, used by the tests) tags one track per style, checks the instrument tags on two
tracks per style of the fast data and runs the correlation analysis on a corner of the stimulus grid, blocks 1
and 5. The correlation analysis runs for the MTT tagger (add `"MSD_vgg"` to `ANALYSED` for the MSD one: about 4
minutes more on two cores).
`MUSIC` is a folder of your own audio files (or set `AURALISATION_MUSIC`); none by default."""),
    ("code", """import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from pathlib import Path

from auralisation.paths import fast_mode, project_paths

FAST = fast_mode()
PATHS = project_paths()
TAGGERS = ["MSD_vgg", "MTT_vgg"]  # any of musicnn:MSD_vgg, MTT_vgg, MSD_musicnn, MTT_musicnn
MUSIC = Path(os.environ["AURALISATION_MUSIC"]) if os.environ.get("AURALISATION_MUSIC") else None  # your folder
PER_STYLE = 1 if FAST else 2  # tracks per style in the tag table
CHECK_TRACKS = 2 if FAST else 10  # tracks per style in the instrument check (None: all)
TOP = 3  # tags shown per tagger
SHOWN_LAYERS = [1, 5] if FAST else [1, 2, 3, 4, 5]  # blocks auralised
SHOWN_FEATURES = 2 if FAST else 4  # strongest features shown per block
STEM_FEATURES = 2 if FAST else 16  # first N features of each shown block in the stem measure
# taggers in the correlation analysis: each, with its untrained copy, takes about 4 min on 2 cores over the 124
# stimuli (measured: 2 CPU-seconds a clip); add "MSD_vgg" to run it too
ANALYSED = ["MTT_vgg"]
KEYS = ["Bb2", "A3"] if FAST else None  # stimulus grid, as notebook 04
INSTRUMENTS = ["sine", "piano"] if FAST else None
FEATURES = 2 if FAST else 8  # first N features of each block in the correlation analysis
ANALYSED_LAYERS = [1, 5] if FAST else None  # blocks in the correlation analysis (None: all five)
N_BOOT = 200 if FAST else 1000
SEED = 0
print(f"fast mode: {FAST}; data: {PATHS.data}; your music: {MUSIC}")"""),
    ("md", """## The taggers

Each is a `TrainedModel` like the project's own: a Keras model, its audio config (16 kHz, 2.976 s patches of 187
frames, 96 mel bands of the power spectrogram, `log10(1 + 10000 x)`) and its 50 tags. Their blocks are the five
poolings."""),
    ("code", """from auralisation.deconv import Deconvolver
from auralisation.frontends import describe
from auralisation.io import load_model

taggers = {name: load_model(f"musicnn:{name}") for name in TAGGERS}
config = next(iter(taggers.values())).config
for name, trained in taggers.items():
    print(f"{name}: {trained.model.count_params():,} weights; blocks {Deconvolver(trained.model).layer_names}; "
          f"tags: {', '.join(trained.classes[:12])}, ...")
print(describe(taggers[TAGGERS[0]].model, config))"""),
    ("md", """## Their tags on the bundled data

Each track is cut into consecutive 2.976 s patches, tagged patch by patch (`auralisation.predict`), and the tags
are averaged over its patches. The bundled tracks are rendered from MIDI by a General MIDI soundfont: music the
taggers never heard the like of in training."""),
    ("code", """from IPython.display import Audio, Markdown, display

from auralisation.tagging import load_recording, tag_table

styles = sorted(p.name for p in PATHS.data.iterdir() if p.is_dir()) if PATHS.data.is_dir() else []
if not styles:
    raise FileNotFoundError(f"no data in {PATHS.data}: run notebook 01 first (it renders the data), or make reproduce")
tracks = {style: sorted((PATHS.data / style).glob("*.wav")) for style in styles}
shown = {path.stem: load_recording(path, taggers[TAGGERS[0]]) for style in styles for path in tracks[style][:PER_STYLE]}
display(Markdown(tag_table(taggers, shown, TOP)))"""),
    ("md", """## Your music

With `MUSIC` set, the same table for every audio file in that folder (nothing is downloaded or copied)."""),
    ("code", """from auralisation.audio import AUDIO_EXTENSIONS

if MUSIC is None:
    display(Markdown("No folder given: set `MUSIC` above (or `AURALISATION_MUSIC`) to tag your own music."))
else:
    files = sorted(p for p in MUSIC.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    yours = {path.name: load_recording(path, taggers[TAGGERS[0]]) for path in files}
    display(Markdown(f"{len(files)} files in `{MUSIC}`\\n\\n" + tag_table(taggers, yours, TOP)))"""),
    ("md", """## Layer by layer: what the strongest features pass

On the first patch of one track, block by block, the strongest features of each tagger (by their strongest
activation), deconvolved to the linear STFT (`D`, top row; `|X| D`, bottom row) and auralised with the clip's
phase (each player peak-normalised)."""),
    ("code", """%matplotlib inline
from auralisation.audio import stft
from auralisation.auralise import auralise
from auralisation.methods import Attributor
from auralisation.notebook import strongest_features
from auralisation.plotting import feature_grid

name, y = next(iter(shown.items()))
X = stft(y[: config.n_samples], config)
display(Markdown(f"**{name}**, first patch"), Audio(y[: config.n_samples], rate=config.sr))
for tagger, trained in taggers.items():
    attributor = Attributor(trained.model, trained.config)  # the one way to a map; deconvnet by default
    deconvolver = attributor.deconvolver("deconvnet")
    for layer in SHOWN_LAYERS:
        features, strengths = strongest_features(deconvolver, abs(X), layer, SHOWN_FEATURES)
        D = attributor.maps(abs(X), layer, features)
        display(Markdown(f"**{tagger}, {deconvolver.layer_name(layer)}**: features {features.tolist()}"),
                feature_grid(abs(X), D, features, strengths, config))
        display(*[Audio(wave, rate=config.sr) for wave in auralise(X, D, config, loudness="peak")])"""),
    ("md", """## Do the instrument tags hear the instruments?

The bundled tracks are rendered from MIDI, so the instruments of each are known (`auralisation.tagging.track_instruments`:
General MIDI programs mapped to MagnaTagATune's instrument tags: piano, guitar, strings, violin, cello, harp,
flute, synth, drums, harpsichord). For each such tag of the MTT tagger, the tag averaged over a track's patches is
scored as a detector of the tracks that play the instrument: the area under the ROC curve (AUC) over tracks, 0.5
being chance."""),
    ("code", """from auralisation.tagging import instrument_agreement

checked = [path for style in styles for path in tracks[style][:CHECK_TRACKS]]
agreement = instrument_agreement(taggers["MTT_vgg"], checked)
lines = ["| MTT tag | tracks with | without | mean tag with | without | AUC |", "|---|---|---|---|---|---|"]
lines += [f"| {r['tag']} | {r['with']} | {r['without']} | {r['mean_with']:.3f} | {r['mean_without']:.3f} | {r['auc']:.2f} |"
          for r in agreement]
display(Markdown(f"{len(checked)} tracks of `{PATHS.data}`\\n\\n" + "\\n".join(lines)))"""),
    ("md", """## What the deep features hear: the stem measure

The bundled tracks are sums of four stems (drums, bass, harmony, melody), so what each feature of the MTT tagger
passes can be measured as in notebook 04 (`auralisation.analysis.stems`): the share of a feature's auralised
magnitude each stem receives, over one excerpt per style, and the label the fixed rule gives it."""),
    ("code", """from collections import Counter

from auralisation.analysis import stem_labels
from auralisation.analysis import stems as stem_measure
from auralisation.notebook import example_excerpts

excerpts, stem_clips = stem_measure.excerpts_with_stems(example_excerpts(PATHS.data, config, per_label=1), config)
if not stem_clips:
    display(Markdown(f"No stems beside the tracks of `{PATHS.data}`: `auralisation generate default --stems` writes them."))
else:
    stem_result = stem_measure.stem_responses(Deconvolver(taggers["MTT_vgg"].model), stem_clips, config,
                                              layers=SHOWN_LAYERS, n_features=STEM_FEATURES, progress=False)
    labelled = stem_labels.feature_labels(stem_measure.stem_table(stem_result, n_boot=N_BOOT, seed=SEED))
    display(Markdown(f"{len(stem_clips)} excerpts with stems. **Label rule**: {stem_labels.SELECTOR_RULE.text}."))
    display(Markdown(stem_labels.labels_markdown(stem_labels.clearest_labels(labelled, 3))))
    counts = {layer: Counter(item.label for item in labelled if item.layer == layer) for layer in stem_result.shares}
    display(Markdown("Features per label, by block:\\n\\n" + "\\n".join(
        f"- **{layer}**: " + ", ".join(f"{n} {label}" for label, n in count.most_common())
        for layer, count in counts.items())))"""),
    ("md", """## The paper's correlation analysis, for the taggers and their untrained copies

As in notebook 04: every stimulus goes through the network; each feature's response (its map averaged over time)
to two clips that differ in one attribute (key, chord, instrument) is correlated, layer by layer, against the
floor of clips that differ in everything. The control is an untrained copy of each tagger
(`auralisation.pretrained.untrained`: the same architecture, Keras's initial weights). The stimuli are rendered
at 11,025 Hz for 4 s; the taggers hear them resampled to 16 kHz, their first 2.976 s."""),
    ("code", """from auralisation import analysis, plotting, pretrained, synth

if not (PATHS.stimuli / "manifest.json").exists():
    synth.generate_stimuli(PATHS.stimuli)
stimuli = analysis.select_stimuli(synth.load_stimuli(PATHS.stimuli), keys=KEYS, instruments=INSTRUMENTS, drums=not FAST)
results = {}
for name in ANALYSED:
    for label, model in ((name, taggers[name].model), (f"{name} untrained", pretrained.untrained(name, seed=SEED).model)):
        responses = analysis.compute_responses(model, stimuli, config, label=label, layers=ANALYSED_LAYERS,
                                               n_features=FEATURES)
        results[label] = analysis.analyse(responses, n_boot=N_BOOT, seed=SEED)
print(f"{len(stimuli)} stimuli, first {FEATURES} features of each block")
for name in ANALYSED:
    display(plotting.correlation_by_layer(results[name].correlations + results[f"{name} untrained"].correlations).figure)"""),
    ("code", """for name in ANALYSED:
    display(Markdown(f"**{name}** against its untrained copy"))
    print(analysis.summarise_findings(results[name], results[f"{name} untrained"]))"""),
    ("md", """## What our numbers show

Generated from this run's numbers above."""),
    ("code", """by_tag = {r["tag"]: r for r in agreement}
piano = by_tag.get("piano")
scored = [r for r in agreement if r["auc"] == r["auc"]]
above = [r["tag"] for r in scored if r["auc"] > 0.5]
text = [f"- On {len(checked)} bundled tracks, {len(above)} of the MTT tagger's {len(scored)} scorable instrument tags "
        f"rank the tracks that play the instrument above those that do not (AUC > 0.5: {', '.join(above) or 'none'})."]
if piano and piano["auc"] == piano["auc"]:
    text.append(f"- The `piano` tag: AUC {piano['auc']:.2f} over {piano['with']} tracks with a piano part and "
                f"{piano['without']} without (mean tag {piano['mean_with']:.3f} against {piano['mean_without']:.3f}).")
best = max(scored, key=lambda r: r["auc"], default=None)
if best:
    text.append(f"- The clearest instrument tag here is `{best['tag']}` (AUC {best['auc']:.2f}).")
if stem_clips:
    selectors = Counter(item.label for item in labelled if item.label.endswith("selector"))
    text.append(f"- The stem measure labels {sum(selectors.values())} of the {len(labelled)} MTT features measured "
                f"(blocks {SHOWN_LAYERS}) as stem selectors"
                + (f" ({', '.join(f'{n} {label}' for label, n in selectors.most_common())})." if selectors else "."))
text.append("- The correlation analysis's verdicts for each tagger and its untrained copy are printed above; a finding "
            "the untrained copy shows as well belongs to the architecture, not to what the tagger learned from music.")
if FAST:
    text.append("- **Fast mode**: few tracks and a corner of the stimulus grid; these numbers are a smoke test.")
display(Markdown("\\n".join(text)))"""),
]


def main() -> None:
    cells = [new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in CELLS]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    path = Path(__file__).resolve().parents[1] / "notebooks" / "07_pretrained.ipynb"
    nbformat.write(notebook, path)
    print(path)


if __name__ == "__main__":
    main()
