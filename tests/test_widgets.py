"""Tests of the explorer (auralisation.ui: its pure view and its widgets), the layer maps it shows
(auralisation.features) and the plots it draws (auralisation.plotting).

A narrow random ``choi2016`` on a tiny front end (0.25 s, n_fft 64: 33 bins x 87 frames) keeps every deconvolution
fast; values are checked against references computed here with librosa and Keras, not with the code under test.
"""

from __future__ import annotations

import base64
import datetime
import io
import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import librosa  # noqa: E402
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from auralisation.audio import AudioConfig  # noqa: E402
from auralisation.deconv import Deconvolver  # noqa: E402
from auralisation.errors import AudioError, ParameterError  # noqa: E402
from auralisation.models import choi2016  # noqa: E402
from auralisation.synth import demo_clips  # noqa: E402
from auralisation.plotting import FeaturePanels, signed_level, thumbnail_png  # noqa: E402
from auralisation.models import TrainedModel  # noqa: E402
from auralisation.clip import Clip  # noqa: E402
from auralisation.features import LayerFeatures, layer_features  # noqa: E402
from auralisation.methods import Attributor  # noqa: E402
from auralisation.ui.explorer import UPLOAD_LIMIT, Explorer  # noqa: E402
from auralisation.ui.view import audio_html, render, residual_mask  # noqa: E402

#: 0.25 s clips: 33 bins x 87 frames, enough for five 2x2 poolings (maps down to 1 x 2); hop n_fft / 2 so that
#: the inverse STFT reconstructs exactly.
TINY = AudioConfig(duration=0.25, n_fft=64, hop_length=32)


def reference_istft(X: np.ndarray) -> np.ndarray:
    """Inverse STFT with librosa directly, for TINY."""
    return librosa.istft(X, hop_length=TINY.hop_length, n_fft=TINY.n_fft, window="hann", center=True,
                         length=TINY.n_samples)


def write_clip(path: Path, kind: str, seed: int = 0) -> Path:
    """A tone with clicks (``"clicks"``) or a two-note chord with noise (``"chord"``), 0.25 s at 11,025 Hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(TINY.n_samples) / TINY.sr
    if kind == "clicks":
        y = 0.2 * np.sin(2 * np.pi * 330 * t)
        y[::700] += 0.7
    else:
        y = 0.25 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 660 * t)
    y += 0.02 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), TINY.sr, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return TrainedModel(choi2016(TINY, 3, width=4, seed=0), TINY, ["low", "mid", "high"])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {"clicks": write_clip(folder / "clicks.wav", "clicks"), "chord": write_clip(folder / "chord.wav", "chord")}


@pytest.fixture(scope="module")
def clip(files: dict[str, Path]) -> Clip:
    return Clip.load(files["clicks"], TINY)


@pytest.fixture(scope="module")
def attributor(trained: TrainedModel) -> Attributor:
    return Attributor(trained.model, TINY)


@pytest.fixture(scope="module")
def deconvolver(attributor: Attributor) -> Deconvolver:
    return attributor.deconvolver("deconvnet")


@pytest.fixture(scope="module")
def panels() -> FeaturePanels:
    return FeaturePanels(TINY)


@pytest.fixture(scope="module")
def explorer(trained: TrainedModel, files: dict[str, Path]) -> Explorer:
    return Explorer(trained, files, prefetch=False)


def count_calls(monkeypatch: pytest.MonkeyPatch, deconvolver: Deconvolver) -> list[tuple]:
    """Record each call of ``deconvolver.deconvolve`` as ``(layer, features)``."""
    calls: list[tuple] = []
    original = deconvolver.deconvolve

    def counted(spectrograms, layer, features=None, **kwargs):
        calls.append((layer, features))
        return original(spectrograms, layer, features, **kwargs)

    monkeypatch.setattr(deconvolver, "deconvolve", counted)
    return calls


def decode_image(html: str) -> bytes:
    """The PNG inside an ``<img>``'s data URL."""
    return base64.b64decode(re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html).group(1))


def decode_player(html: str) -> np.ndarray:
    """The waveform inside an IPython Audio player's HTML."""
    payload = re.search(r"data:audio/wav;base64,([A-Za-z0-9+/=]+)", html).group(1)
    y, _ = sf.read(io.BytesIO(base64.b64decode(payload)), dtype="float32")
    return y


# ----------------------------------------------------------------------------------------------------------------
# The pure view


@pytest.mark.parametrize("layer", [1, 2, 3, 4, 5])
def test_render_every_layer_gives_audible_clip_length_audio(
    layer: int, clip: Clip, attributor: Attributor, panels: FeaturePanels
) -> None:
    features = layer_features(attributor, clip, layer)
    strongest = int(features.order[0])
    assert features.activations[strongest] > 0
    view = render(clip, features, strongest, panels=panels)
    for y in (view.original, view.auralised, view.residual):
        assert y.shape == (TINY.n_samples,) and y.dtype == np.float32
        assert np.all(np.isfinite(y))
    assert np.max(np.abs(view.auralised)) > 0
    # The auralisation is istft(X * D), computed here with librosa, times one gain for the whole layer that puts
    # the loudest feature of the layer at a peak of 0.99.
    D = features.deconvolved[strongest]
    raw = np.stack([reference_istft(clip.X * d) for d in features.deconvolved])
    gain = 0.99 / np.abs(raw).max()
    assert features.gain == pytest.approx(gain, rel=1e-4)
    np.testing.assert_allclose(view.auralised, raw[strongest] * gain, atol=1e-5)
    peak = render(clip, features, strongest, loudness="peak", panels=panels).auralised
    np.testing.assert_allclose(peak, raw[strongest] * 0.99 / np.abs(raw[strongest]).max(), atol=1e-5)
    # The residual and the masked part add up to the clip (the mask is at most 1 everywhere).
    kept = reference_istft(clip.X * np.clip(D / D.max(), 0, 1))
    np.testing.assert_allclose(view.residual + kept, clip.y, atol=1e-4)
    assert (view.layer, view.layer_name, view.feature, view.rank) == (layer, f"pool{layer}", strongest, 1)
    np.testing.assert_allclose(view.masked, clip.S * D, rtol=1e-6)


def test_activation_is_the_maximum_of_the_keras_feature_map(clip: Clip, trained: TrainedModel,
                                                            attributor: Attributor) -> None:
    features = layer_features(attributor, clip, 2)
    model = trained.model
    sub = keras.Model(model.inputs, model.get_layer("pool2").output)
    maps = np.asarray(sub([clip.S[None, ..., None]]))[0]  # (h, w, channels)
    np.testing.assert_allclose(features.activations, maps.max(axis=(0, 1)), rtol=1e-5, atol=1e-7)
    assert list(features.order) == list(np.argsort(-maps.max(axis=(0, 1)), kind="stable"))


def test_layer_features_is_one_batched_call_equal_to_single_features(
    clip: Clip, attributor: Attributor, deconvolver: Deconvolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch, deconvolver)
    features = layer_features(attributor, clip, 3, seeding="max")
    assert calls == [(3, None)]
    assert features.deconvolved.shape == (4, TINY.n_bins, TINY.n_frames)
    single = Deconvolver.deconvolve(deconvolver, clip.S, 3, [2], seeding="max", engine="tape")[0]
    np.testing.assert_allclose(features.deconvolved[2], single, rtol=1e-4, atol=1e-6 * np.abs(single).max())


def test_residual_of_a_feature_without_positive_values_is_the_clip(clip: Clip, panels: FeaturePanels) -> None:
    D = -np.ones((2, TINY.n_bins, TINY.n_frames), dtype=np.float32)
    features = LayerFeatures(clip.key, 1, "pool1", "map", D, np.array([0.0, 1.0], dtype=np.float32), 1.0)
    view = render(clip, features, 0, panels=panels)
    np.testing.assert_allclose(view.residual, clip.y, atol=1e-5)
    assert view.activation == 0.0 and view.rank == 2


def test_residual_mask_values() -> None:
    D = np.array([[-3.0, 0.0], [1.0, 4.0]])
    np.testing.assert_allclose(residual_mask(D), [[0.0, 0.0], [0.25, 1.0]])
    assert not residual_mask(-np.abs(D)).any()


def test_render_refuses_a_feature_out_of_range_and_a_foreign_clip(
    clip: Clip, files: dict[str, Path], attributor: Attributor, panels: FeaturePanels
) -> None:
    features = layer_features(attributor, clip, 1)
    with pytest.raises(ParameterError, match=r"layer 1 \(pool1\) has features 0\.\.3; feature 4"):
        render(clip, features, 4, panels=panels)
    with pytest.raises(ParameterError, match="computed for clip"):
        render(Clip.load(files["chord"], TINY), features, 0, panels=panels)


def test_audio_html_plays_at_own_level_and_never_clips() -> None:
    y = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    html, gain = audio_html(y, 11025, normalize=False)
    assert gain == 1.0
    np.testing.assert_allclose(decode_player(html), y, atol=1e-4)
    html, gain = audio_html(4 * y, 11025, normalize=False)
    assert gain == pytest.approx(0.99 / 2.0)
    np.testing.assert_allclose(decode_player(html), 4 * y * gain, atol=1e-4)
    assert np.abs(decode_player(audio_html(0.01 * y, 11025, normalize=True)[0])).max() > 0.99


# ----------------------------------------------------------------------------------------------------------------
# Figures


def test_blitted_panels_equal_a_full_redraw(clip: Clip) -> None:
    rng = np.random.default_rng(0)
    D1, D2 = rng.standard_normal((2, TINY.n_bins, TINY.n_frames))
    other = clip.S[::-1].copy()

    def full(S: np.ndarray, D: np.ndarray) -> np.ndarray:
        fresh = FeaturePanels(TINY)
        fresh.update(S, D)
        fresh.canvas.draw()
        return np.asarray(fresh.canvas.buffer_rgba())

    def differ(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(np.any(a != b, axis=-1)))

    blitted = FeaturePanels(TINY)
    blitted.update(clip.S, D1)
    first = blitted.rgba()
    blitted.update(clip.S, D2)
    second = blitted.rgba()
    blitted.update(other, D2)  # a new clip: the original panel changes too
    third = blitted.rgba()
    # Equal to a full redraw but for a few antialiased pixels where tick marks touch the images' edges.
    assert differ(second, full(clip.S, D2)) < 1e-3
    assert differ(third, full(other, D2)) < 1e-3
    assert differ(first, second) > 0.05 and differ(second, third) > 0.02
    assert blitted.png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_signed_level_maps_sign_and_decibels() -> None:
    a = np.array([-2.0, -0.2, 0.0, 0.002, 0.02, 2.0])
    np.testing.assert_allclose(signed_level(a, top_db=60.0), [-1.0, -2 / 3, 0.0, 0.0, 1 / 3, 1.0], atol=1e-6)
    assert not signed_level(np.zeros(3)).any()


def test_thumbnail_puts_low_frequencies_at_the_bottom() -> None:
    D = np.zeros((TINY.n_bins, TINY.n_frames), dtype=np.float32)
    D[:8] = 1.0  # energy in the lowest bins only
    image = matplotlib.image.imread(io.BytesIO(thumbnail_png(D, rows=16, columns=20)), format="png")
    assert image.shape[:2] == (16, 21)
    bottom, top = image[-1, 0, :3], image[0, 0, :3]
    assert bottom[0] > 0.3 and bottom[2] < 0.2  # dark red: the positive peak
    np.testing.assert_allclose(top, image[0, 1, :3])
    assert top.min() > 0.9  # white: nothing there


# ----------------------------------------------------------------------------------------------------------------
# The widget


def test_explorer_shows_the_first_clip_and_wires_players_to_the_view(explorer: Explorer) -> None:
    explorer.select(clip="clicks", layer=1, feature=0, loudness="comparable")
    view = explorer.view
    assert (view.clip, view.layer, view.feature) == ("clicks", 1, 0)
    assert explorer.layer.max == 5 and explorer.feature.max == 3
    np.testing.assert_allclose(decode_player(explorer.players["original"].value), view.original, atol=1e-4)
    assert np.abs(view.auralised).max() <= 0.99 + 1e-6
    np.testing.assert_allclose(decode_player(explorer.players["auralised"].value), view.auralised, atol=1e-4)
    np.testing.assert_allclose(decode_player(explorer.players["residual"].value), view.residual, atol=1e-4)
    assert f"{view.activation:.3g}" in explorer.feature_info.value
    assert decode_image(explorer.image.value)[:4] == b"\x89PNG"
    assert 'alt="clicks, layer 1 (pool1), feature 0, deconvnet: ' in explorer.image.value
    assert 'aria-label="auralised: clicks, layer 1 (pool1), feature 0, deconvnet"' in explorer.players["auralised"].value
    assert "predicted" in explorer.status.value and explorer.error is None


def test_explorer_feature_changes_reuse_the_layer(explorer: Explorer, monkeypatch: pytest.MonkeyPatch) -> None:
    explorer.select(clip="clicks", layer=1, feature=0, seeding="map")
    calls = count_calls(monkeypatch, explorer.cache.deconvolver)
    image = decode_image(explorer.image.value)
    for feature in (1, 2, 3, 0):
        explorer.feature.value = feature
        assert explorer.view.feature == feature
    assert calls == []
    explorer.feature.value = 2
    assert decode_image(explorer.image.value) != image
    explorer.layer.value = 4
    assert calls == [(4, None)] and explorer.view.layer == 4
    explorer.feature.value = 1
    explorer.layer.value = 1
    assert calls == [(4, None)] and (explorer.view.layer, explorer.view.feature) == (1, 1)
    explorer.seeding.value = "max"
    assert calls == [(4, None), (1, None)] and explorer.view.seeding == "max"
    explorer.seeding.value = "map"


def test_explorer_prefetches_a_new_clip_s_layers(explorer: Explorer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explorer, "prefetch", True)
    calls = count_calls(monkeypatch, explorer.cache.deconvolver)
    explorer.select(clip="chord", layer=2)
    assert sorted(layer for layer, _ in calls) == [1, 2, 3, 4, 5]
    for layer in (5, 3, 1):
        explorer.layer.value = layer
        assert explorer.view.layer == layer and explorer.view.clip == "chord"
    assert len(calls) == 5


def test_explorer_browser_orders_by_activation_and_clicks_select(explorer: Explorer) -> None:
    explorer.select(clip="clicks", layer=2, feature=0)
    clip = explorer._clip("clicks")
    features = explorer.cache.get(clip, 2, "map")
    shown = [card for card in explorer._cards if card.box in explorer.browser.children]
    assert [card.feature for card in shown] == list(features.order)
    assert [decode_image(card.image.value) for card in shown] == [features.thumbnails[k] for k in features.order]
    assert f'alt="clicks, layer 2 (pool2), feature {shown[0].feature}: deconvnet map"' in shown[0].image.value
    last = shown[-1]
    last.button.click()
    assert explorer.feature.value == last.feature and explorer.view.feature == last.feature
    assert explorer.view.rank == features.n_features or features.activations[last.feature] == 0
    assert "Layer 2 (pool2)" in explorer.browser_title.value


def test_explorer_loads_typed_and_uploaded_files_and_reports_bad_ones(
    explorer: Explorer, tmp_path: Path
) -> None:
    typed = write_clip(tmp_path / "typed.wav", "chord", seed=3)
    explorer.path.value = str(typed)
    explorer.load.click()
    assert explorer.error is None and explorer.clip.value == "typed" and explorer.view.clip == "typed"
    uploaded = write_clip(tmp_path / "other" / "typed.wav", "clicks", seed=4)
    payload = uploaded.read_bytes()
    explorer.upload.value = ({"name": "typed.wav", "type": "audio/wav", "size": len(payload),
                              "content": memoryview(payload),
                              "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    assert explorer.error is None and explorer.clip.value == "typed (2)"
    np.testing.assert_allclose(explorer.view.original, sf.read(uploaded, dtype="float32")[0], atol=1e-6)
    assert explorer.upload.value == ()
    explorer.path.value = str(tmp_path / "missing.wav")
    explorer.load.click()
    assert isinstance(explorer.error, AudioError)
    assert "missing.wav" in explorer.status.value and "no such file" in explorer.status.value
    assert explorer.clip.value == "typed (2)"
    # Over the size limit, or not audio: one line in the status, and the explorer as it was.
    view, options = explorer.view, explorer.clip.options
    for name, payload, said in (("long.wav", bytes(UPLOAD_LIMIT + 1), "over the 8 MB limit"),
                                ("noise.wav", np.random.default_rng(0).bytes(300_000), "is not audio the explorer can read")):
        explorer.upload.value = ({"name": name, "type": "audio/wav", "size": len(payload),
                                  "content": memoryview(payload),
                                  "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
        assert isinstance(explorer.error, AudioError) and said in explorer.status.value and name in explorer.status.value
        assert "\n" not in str(explorer.error) and "/" not in str(explorer.error)  # no path of the server's
        assert explorer.view is view and explorer.clip.options == options and explorer.upload.value == ()
    assert f"data-upload-limit='{UPLOAD_LIMIT}'" in explorer.upload_note.value and "at most 8 MB" in explorer.upload_note.value


def test_explorer_takes_waveforms_and_asks_for_a_clip_when_it_has_none(trained: TrainedModel) -> None:
    empty = Explorer(trained, [])
    assert empty.view is None and empty.clip.value is None
    assert "No clip yet" in empty.status.value
    y = np.sin(2 * np.pi * 500 * np.arange(TINY.n_samples) / TINY.sr).astype(np.float32)
    explorer = Explorer(trained, {"tone": y, "louder": 2 * y}, prefetch=False)
    assert explorer.view.clip == "tone" and explorer.clip.options == ("tone", "louder")
    np.testing.assert_array_equal(explorer.view.original, y)
    with pytest.raises(AudioError, match="expected 2756 samples"):
        Explorer(trained, {"short": y[:100]})


def test_explorer_needs_a_config_with_a_bare_keras_model(trained: TrainedModel) -> None:
    with pytest.raises(ParameterError, match="needs its AudioConfig"):
        Explorer(trained.model, [])
    with pytest.raises(ParameterError, match="TrainedModel or a keras.Model"):
        Explorer("model", [])


def test_demo_clips_are_notebook_2_s_three_clips() -> None:
    clips = demo_clips(TINY)
    assert list(clips) == ["solo", "lead and accompaniment", "full band"]
    for y in clips.values():
        assert y.shape == (TINY.n_samples,) and y.dtype == np.float32
        assert np.abs(y).max() == pytest.approx(0.99, abs=1e-6)
    assert not np.allclose(clips["solo"], clips["lead and accompaniment"])


def test_static_view_without_widgets(explorer: Explorer) -> None:
    explorer.select(clip="clicks", layer=1, loudness="comparable", seeding="map")
    items = explorer.static(2, layers=[1, 3])
    assert len(items) == 1 + 2 * 3
    for image in (items[2], items[5]):
        assert image.data[:4] == b"\x89PNG"
        assert matplotlib.image.imread(io.BytesIO(image.data), format="png")[..., :3].std() > 0.05
    clip = explorer._clip("clicks")
    np.testing.assert_allclose(decode_player(items[0].data), clip.y, atol=1e-4)
    features = explorer.cache.get(clip, 3, "map")
    strongest = features.order[0]
    expected = reference_istft(clip.X * features.deconvolved[strongest]) * features.gain
    np.testing.assert_allclose(decode_player(items[6].data), expected, atol=1e-4)
    assert items[6].data.count("<audio") == 2


# ----------------------------------------------------------------------------------------------------------------
# Methods


def test_explorer_method_dropdown_lists_every_method_and_the_rules_are_batched(
    explorer: Explorer, trained: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auralisation.deconv import deconvolve
    from auralisation.methods import METHODS

    assert explorer.method.options == METHODS and explorer.method.value == "deconvnet"
    deconvnet = explorer.select(clip="clicks", layer=2, feature=1, seeding="map").deconvolved.copy()
    view = explorer.select(method="gradient")
    assert (view.method, view.layer, view.feature) == ("gradient", 2, 1)
    clip = explorer._clip("clicks")
    expected = deconvolve(trained.model, clip.S, 2, [1], rule="gradient")[0]
    np.testing.assert_allclose(view.deconvolved, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    assert not np.allclose(view.deconvolved, deconvnet, atol=1e-3 * np.abs(deconvnet).max())
    gradient = explorer.cache.attributor.deconvolver("gradient")
    calls = count_calls(monkeypatch, gradient)
    for feature in (0, 3, 2):  # the layer is cached: no deconvolution per feature
        explorer.feature.value = feature
        assert explorer.view.method == "gradient" and explorer.view.feature == feature
    assert calls == []
    explorer.select(method="deconvnet")
    np.testing.assert_array_equal(explorer.select(feature=1).deconvolved, deconvnet)


@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_explorer_computes_gradcam_and_occlusion_for_the_selected_feature(
    method: str, explorer: Explorer, trained: TrainedModel
) -> None:
    from auralisation.methods import attribute

    explorer.select(clip="chord", layer=3, feature=0, method="deconvnet")
    computed = explorer.cache.computed
    view = explorer.select(feature=2, method=method)
    assert explorer.error is None and (view.method, view.layer, view.feature) == (method, 3, 2)
    assert explorer.seeding.disabled
    clip = explorer._clip("chord")
    assert view.deconvolved.shape == clip.S.shape and np.all(np.isfinite(view.deconvolved))
    options = {"patch": (32, 16)} if method == "occlusion" else {}
    expected = attribute(trained.model, clip.S, method, layer=3, feature=2, **options)
    np.testing.assert_allclose(view.deconvolved, expected, rtol=1e-4, atol=1e-6 * max(np.abs(expected).max(), 1e-12))
    assert explorer.cache.computed == computed + 1
    explorer.select(feature=2, loudness="peak")  # cached by (clip, layer, feature, method)
    assert explorer.cache.computed == computed + 1
    shown = [card for card in explorer._cards if card.box in explorer.browser.children]
    assert [card.image.value != "" for card in shown] == [card.feature == 2 for card in shown]
    assert method in explorer.browser_title.value
    items = explorer.static(1, layers=[3])  # the strongest feature's map, by this method
    strongest = int(np.argmax(explorer.cache.get(clip, 3, method=method, feature=2).activations))
    assert f"by {method}" in items[1].data and f"feature {strongest} " in items[3].data
    explorer.select(method="deconvnet", loudness="comparable")
    assert not explorer.seeding.disabled


def test_one_feature_holds_one_map_and_render_refuses_the_others(clip: Clip, attributor: Attributor,
                                                                 panels: FeaturePanels) -> None:
    features = layer_features(attributor, clip, 1, "gradcam", features=[3])
    assert features.mapped == (3,) and features.method == "gradcam" and features.n_features == 4
    view = render(clip, features, 3, loudness="comparable", panels=panels)
    assert view.method == "gradcam" and np.abs(view.auralised).max() == pytest.approx(0.99, rel=1e-4)
    with pytest.raises(ParameterError, match=r"gradcam maps of layer 1 hold features \[3\], not 0"):
        render(clip, features, 0, panels=panels)
