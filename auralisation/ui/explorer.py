"""The notebook explorer: ipywidgets controls wired to the pure view (:func:`auralisation.ui.view.render`).

Its method dropdown offers every attribution method of :mod:`auralisation.methods`. With a ReLU rule (deconvnet,
guided, gradient) a layer's features are deconvolved in one batched call and kept in a
:class:`~auralisation.features.FeatureCache`; after a clip's first view the explorer computes its other layers too,
so moving the layer or feature slider afterwards only reads the cache, runs two inverse STFTs and blits three
images (:class:`~auralisation.plotting.FeaturePanels`). Grad-CAM and occlusion explain one feature per pass, so the
selected feature's map is computed on demand.

Examples
--------
>>> from auralisation.io import load_model
>>> from auralisation.synth import demo_clips
>>> from auralisation.ui.explorer import Explorer
>>> trained = load_model("models/choi2016")                    # doctest: +SKIP
>>> explorer = Explorer(trained, demo_clips(trained.config))   # doctest: +SKIP
>>> explorer                                                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from html import escape as _escape
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import keras
import numpy as np

from ..audio import AUDIO_EXTENSIONS, AudioConfig
from ..clip import Clip, Clips
from ..deconv import RULES
from ..errors import AudioError, AuralisationError, ParameterError
from ..deconv.rules import Seeding
from ..features import FeatureCache, LayerFeatures
from ..frontends import require_magnitude_input
from ..methods import METHODS, Attributor, check_method
from ..plotting.spectrograms import FeaturePanels
from ..models import TrainedModel
from .view import Loudness, View, audio_html, image_html, render, static_view

__all__ = ["UPLOAD_LIMIT", "Explorer"]

#: The largest file a visitor may upload, in bytes: 8 MB (about 45 s of CD-quality WAV, minutes of MP3 or FLAC; the
#: explorer hears the clip's first ``duration`` seconds). Jupyter's websocket takes at most 10 MiB in one message;
#: the page says the limit beside the button and refuses a larger file before sending it (the app's template).
UPLOAD_LIMIT = 8_000_000


@dataclasses.dataclass
class _Card:
    """One thumbnail of the feature browser; clicking its button selects :attr:`feature`."""

    image: widgets.HTML
    button: widgets.Button
    box: widgets.VBox
    feature: int = 0


class Explorer:
    """Listen to a network's features on any clip, in a notebook.

    Controls: a clip picker (the clips given, a path typed in, or an uploaded file), a layer slider, a feature
    slider with the feature's activation beside it, the attribution method (:data:`~auralisation.methods.METHODS`:
    deconvnet, the paper's, then guided backpropagation, the gradient, Grad-CAM and occlusion), the seeding of the
    ReLU rules (``"map"``: the whole activation map, as the authors did; ``"max"``: its strongest activation only)
    and the loudness policy. The view shows players for the original, the auralised feature and the residual (the
    clip without the feature; see :func:`~auralisation.ui.view.residual_mask`), the figure of
    :class:`~auralisation.plotting.FeaturePanels`, and a browser of the layer's features, strongest first:
    clicking one selects it. The ReLU rules compute a whole layer at once, so the browser shows every feature's
    thumbnail and the feature slider answers at once; Grad-CAM and occlusion (with the coarse patch
    :data:`~auralisation.auralise.OCCLUSION_PATCH`) compute the selected feature only, on demand (occlusion takes
    seconds), and keep it in the cache.

    Everything shown comes from :func:`~auralisation.ui.view.render`; :attr:`view` holds the last
    :class:`~auralisation.ui.view.View`. Errors (an unreadable
    file, say) are shown in :attr:`status` and kept in :attr:`error` instead of being raised from a callback.

    Parameters
    ----------
    model : TrainedModel or keras.Model
        A model from :func:`auralisation.io.load_model`, or a Keras model with ``config`` given.
    clips : mapping of name to path or waveform, or sequence of paths
        The clips to pick from (may be empty: then type a path or upload a file). A waveform must have
        ``config.n_samples`` samples at ``config.sr`` (see :func:`auralisation.synth.demo_clips`); a file's first
        ``config.duration`` seconds are used.
    config : AudioConfig, optional
        Required with a bare Keras model; must be omitted (or equal) with a :class:`TrainedModel`.
    method : str
        The method shown first, one of :data:`~auralisation.methods.METHODS`.
    prefetch : bool
        After a clip's first view by a ReLU rule, deconvolve its other layers too, so that the layer slider answers
        at once.
    cache_size : int
        Layers kept (see :class:`~auralisation.features.FeatureCache`).
    local_files : bool
        Offer the box for the path of a file on the kernel's disk (with its *load* button) beside *upload*. The
        standalone app (:mod:`auralisation.app`) turns it off: there the visitor's files are not the server's.
    """

    def __init__(
        self,
        model: TrainedModel | keras.Model,
        clips: Mapping[str, str | os.PathLike[str] | np.ndarray] | Sequence[str | os.PathLike[str]] = (),
        *,
        config: AudioConfig | None = None,
        method: str = "deconvnet",
        prefetch: bool = True,
        cache_size: int = 16,
        local_files: bool = True,
    ) -> None:
        self.model, self.config, self.classes = _unpack_model(model, config)
        require_magnitude_input(self.config, "the explorer")
        self.cache = FeatureCache(Attributor(self.model, self.config), size=cache_size)
        self.prefetch = prefetch
        self.local_files = local_files
        self.panels = FeaturePanels(self.config)
        self.view: View | None = None
        self.error: AuralisationError | None = None
        self.latency: float | None = None
        self.clips = Clips(self.config)
        self._predictions: dict[str, str] = {}
        self._original_html: dict[str, str] = {}
        self._prefetched: set[tuple[str, str, str]] = set()
        self._browser_key: tuple[Any, ...] | None = None
        self._cards: list[_Card] = []
        self._holding = False
        self._uploads: tempfile.TemporaryDirectory[str] | None = None
        self._build_controls(check_method(method), local_files)
        items = clips.items() if isinstance(clips, Mapping) else ((Path(p).stem, p) for p in clips)
        for name, source in items:
            self.clips.add(name, source)
        with self._hold():
            self.clip.options = list(self.clips)
            self.clip.value = next(iter(self.clips), None)
        self.refresh()

    # --- building -------------------------------------------------------------------------------------------

    def _build_controls(self, method: str, local_files: bool) -> None:
        n_layers = len(self.cache.deconvolver.layer_names)
        wide = {"description_width": "70px"}
        self.clip = widgets.Dropdown(description="clip", style=wide, layout=widgets.Layout(width="320px"),
                                     tooltip="the clip to explore")
        self.path = widgets.Text(placeholder="or type a path to an audio file", layout=widgets.Layout(width="320px"),
                                 tooltip="path of an audio file to load")
        self.load = widgets.Button(description="load", tooltip="load the file typed in", icon="folder-open")
        self.upload = widgets.FileUpload(accept=",".join(AUDIO_EXTENSIONS), multiple=False, description="upload",
                                         tooltip="upload an audio file from this computer")
        self.upload_note = widgets.HTML(
            f"<span class='auralisation-upload-note' data-upload-limit='{UPLOAD_LIMIT}'>audio file "
            f"({', '.join(e.lstrip('.') for e in AUDIO_EXTENSIONS)}), at most {UPLOAD_LIMIT / 1e6:g} MB</span>")
        self.layer = widgets.IntSlider(value=1, min=1, max=n_layers, description="layer", style=wide,
                                       continuous_update=False, tooltip="the layer (block) to listen to")
        self.feature = widgets.IntSlider(value=0, min=0, max=self.cache.deconvolver.n_features(1) - 1,
                                         description="feature", style=wide, continuous_update=False,
                                         tooltip="the feature of the layer to listen to")
        self.feature_info = widgets.HTML()
        self.method = widgets.Dropdown(options=METHODS, value=method, description="method", style=wide,
                                       layout=widgets.Layout(width="220px"),
                                       tooltip="how a feature's map is computed (deconvnet: the paper's)")
        # Radio buttons rather than toggle buttons, whose fixed width cut "whole map" and "comparable"; each choice
        # is a Tab stop that Space selects.
        self.seeding = widgets.RadioButtons(options=[("whole map", "map"), ("strongest", "max")], value="map",
                                         description="seeding", orientation="horizontal", style=wide,
                                         layout=widgets.Layout(width="auto"),
                                         tooltip="whole map: the feature's whole activation map (the authors); "
                                                 "strongest: its single strongest activation (Zeiler & Fergus)")
        self.loudness = widgets.RadioButtons(options=["comparable", "peak"], value="comparable",
                                             description="loudness", orientation="horizontal", style=wide,
                                             layout=widgets.Layout(width="auto"),
                                             tooltip="comparable: features keep their relative loudness; "
                                                     "peak: every player is normalized to full scale")
        self.status = widgets.HTML()
        self.players = {name: widgets.HTML() for name in ("original", "auralised", "residual")}
        self.player_labels = {name: widgets.HTML() for name in self.players}
        self.image = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.browser_title = widgets.HTML()
        self.browser = widgets.GridBox(layout=widgets.Layout(grid_template_columns="repeat(auto-fill, 104px)",
                                                             grid_gap="4px"))
        self.clip.observe(self._on_change, "value")
        self.layer.observe(self._on_change, "value")
        self.feature.observe(self._on_change, "value")
        self.seeding.observe(self._on_change, "value")
        self.method.observe(self._on_change, "value")
        self.loudness.observe(self._on_change, "value")
        self.load.on_click(lambda _: self._guard(lambda: self.add_clip(self.path.value)))
        self.upload.observe(self._on_upload, "value")
        players = [widgets.VBox([self.player_labels[n], self.players[n]]) for n in self.players]
        self.widget = widgets.VBox([
            widgets.HBox([self.clip, self.path, self.load, self.upload, self.upload_note] if local_files
                         else [self.clip, self.upload, self.upload_note]),
            widgets.HBox([self.layer, self.feature, self.feature_info]),
            widgets.HBox([self.method, self.seeding, self.loudness]),
            self.status,
            widgets.HBox(players),
            self.image,
            self.browser_title,
            self.browser,
        ])
        self.widget.add_class("auralisation-explorer")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # --- clips ----------------------------------------------------------------------------------------------

    def add_clip(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Load the audio file ``path``, add it to the clip picker and show it; return its name there.

        Raises
        ------
        AudioError
            The file is missing or cannot be read (nothing is added).
        """
        if not str(path).strip():
            raise AudioError("no path given: type the path of an audio file, then press load")
        path = Path(str(path).strip()).expanduser()
        key = self.clips.add(name or path.stem, path, load=True)
        with self._hold():
            self.clip.options = list(self.clips)
            self.clip.value = key
        self.refresh()
        return key

    def _on_upload(self, change: dict[str, Any]) -> None:
        """Write an uploaded file to a temporary folder and add it as a clip; a file over :data:`UPLOAD_LIMIT` or
        not audio leaves the explorer as it was, with one line in the status saying why."""
        if not change["new"]:
            return
        item = change["new"][0]
        self.upload.value = ()
        self._guard(lambda: self.add_upload(Path(item["name"]).name, bytes(item["content"])))

    def add_upload(self, name: str, content: bytes) -> str:
        """Add the uploaded file ``name`` with bytes ``content`` as a clip and show it; return its name there.

        Raises
        ------
        AudioError
            Over :data:`UPLOAD_LIMIT`, or not audio (nothing is added, nothing kept).
        """
        if len(content) > UPLOAD_LIMIT:
            raise AudioError(f"{name} is {len(content) / 1e6:.1f} MB, over the {UPLOAD_LIMIT / 1e6:g} MB limit: upload "
                             f"an excerpt (the explorer hears {self.config.duration:g} s of it)")
        if self._uploads is None:
            self._uploads = tempfile.TemporaryDirectory(prefix="auralisation-upload-")
        target = Path(self._uploads.name) / name
        target.write_bytes(content)
        try:
            return self.add_clip(target)
        except AudioError:
            target.unlink()
            raise AudioError(f"{name} is not audio the explorer can read: upload a "
                             f"{', '.join(e.lstrip('.').upper() for e in AUDIO_EXTENSIONS)} file") from None

    def _clip(self, name: str) -> Clip:
        """The loaded clip ``name`` (loaded on first use)."""
        return self.clips[name]

    def _prediction(self, clip: Clip) -> str:
        """The model's top class for ``clip``, as text (empty without class names)."""
        if not self.classes:
            return ""
        if clip.key not in self._predictions:
            scores = np.asarray(self.model(clip.S[None, ..., None], training=False))[0]
            best = int(np.argmax(scores))
            self._predictions[clip.key] = f"predicted <b>{self.classes[best]}</b> ({scores[best]:.2f})"
        return self._predictions[clip.key]

    # --- updating -------------------------------------------------------------------------------------------

    @contextmanager
    def _hold(self) -> Iterator[None]:
        """Change several controls without a view for each change."""
        holding, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = holding

    def _guard(self, action: Callable[[], object]) -> None:
        """Run ``action``; show an :class:`AuralisationError` in :attr:`status` instead of raising it."""
        try:
            action()
            self.error = None
        except AuralisationError as error:
            self.error = error
            self.status.value = f"<span style='color:#b00'>\u26a0 {_escape(str(error))}</span>"

    def _on_change(self, change: dict[str, Any]) -> None:
        if not self._holding:
            self._guard(self.refresh)

    def refresh(self) -> None:
        """Render the view the controls ask for and show it (then prefetch the clip's other layers)."""
        if self.clip.value is None:
            typed = "type the path of an audio file and press <i>load</i>, or " if self.local_files else ""
            self.status.value = f"No clip yet: {typed}upload one."
            return
        start = time.perf_counter()
        clip = self._clip(self.clip.value)
        layer, seeding, method = self.layer.value, self.seeding.value, self.method.value
        batched = method in RULES
        self.seeding.disabled = not batched
        with self._hold():
            self.feature.max = self.cache.deconvolver.n_features(layer) - 1
        feature = self.feature.value
        if self.cache.key(clip, layer, seeding, method, feature) not in self.cache:
            what = f"the features of layer {layer}" if batched else f"the {method} map of feature {feature}"
            self.status.value = f"computing {what} of <b>{_escape(clip.name)}</b>\u2026"
        features = self.cache.get(clip, layer, seeding, method, feature)
        view = render(clip, features, feature, loudness=self.loudness.value, panels=self.panels)
        self._show(clip, features, view)
        self.view = view
        self.latency = time.perf_counter() - start
        status = (
            f"<b>{_escape(clip.name)}</b> {self._prediction(clip)} \u2014 layer {view.layer} ({view.layer_name}), "
            f"feature {view.feature}, {method}: shown in {1000 * self.latency:.0f} ms"
        )
        if self.prefetch and batched and (clip.key, seeding, method) not in self._prefetched:
            self.status.value = status + "; preparing the other layers\u2026"
            for other in range(1, self.layer.max + 1):
                _ = self.cache.get(clip, other, seeding, method).thumbnails
            self._prefetched.add((clip.key, seeding, method))
        self.status.value = status

    def _show(self, clip: Clip, features: LayerFeatures, view: View) -> None:
        """Put ``view`` into the output widgets."""
        normalize = view.loudness == "peak"
        key = f"{clip.key}|{normalize}"
        if key not in self._original_html:
            self._original_html[key] = audio_html(view.original, view.sr, normalize=normalize,
                                                  label=f"original: {clip.name}")[0]
        self.players["original"].value = self._original_html[key]
        self.player_labels["original"].value = "<b>original</b>"
        where = f"layer {view.layer} ({view.layer_name}), feature {view.feature}, {view.method}"
        for name, y, what, label in (
            ("auralised", view.auralised, "the feature alone", f"auralised: {clip.name}, {where}"),
            ("residual", view.residual, "the clip without it", f"residual: {clip.name} without {where}"),
        ):
            html, gain = audio_html(y, view.sr, normalize=normalize, label=label)
            self.players[name].value = html
            note = f" (scaled by {20 * np.log10(gain):.1f} dB to avoid clipping)" if gain < 1.0 else ""
            self.player_labels[name].value = f"<b>{name}</b>: {what}{note}"
        self.feature_info.value = (
            f"activation <b>{view.activation:.3g}</b> (rank {view.rank} of {view.n_features})"
            + (" \u2014 <i>inactive on this clip</i>" if view.activation <= 0 else "")
        )
        self.image.value = image_html(self.panels.png(), f"{clip.name}, {where}: |X|, its deconvolved "
                                      "spectrogram D and |X| \u00b7 D")
        self._fill_browser(clip, features)

    def _fill_browser(self, clip: Clip, features: LayerFeatures) -> None:
        """Show the layer's features, strongest first, with the thumbnails of the maps held (only on a change)."""
        key = (features.clip, features.layer, features.seeding, features.method, features.mapped)
        if key == self._browser_key:
            return
        while len(self._cards) < features.n_features:
            self._cards.append(self._new_card())
        thumbnails = dict(zip(features.mapped, features.thumbnails))
        shown = []
        for card, feature in zip(self._cards, features.order):
            card.feature = int(feature)
            card.button.description = f"#{feature}  {features.activations[feature]:.2g}"
            what = f"{clip.name}, layer {features.layer} ({features.layer_name}), feature {feature}"
            thumbnail = thumbnails.get(int(feature))
            card.image.value = "" if thumbnail is None else image_html(thumbnail, f"{what}: {features.method} map")
            card.button.tooltip = f"listen to {what} (activation {features.activations[feature]:.3g})"
            shown.append(card.box)
        self.browser.children = shown
        maps = ("maps" if features.features is None else
                f"activations ({features.method} computes the selected feature's map alone)")
        self.browser_title.value = (
            f"<b>Layer {features.layer} ({features.layer_name})</b>: its {features.n_features} features' {maps} on "
            "this clip, strongest activation first; click one to listen."
        )
        self._browser_key = key

    def _new_card(self) -> _Card:
        image = widgets.HTML(layout=widgets.Layout(width="100px", height="74px"))
        button = widgets.Button(layout=widgets.Layout(width="100px"))
        card = _Card(image, button, widgets.VBox([image, button]))
        button.on_click(lambda _: self.select(feature=card.feature))
        return card

    def static(
        self, count: int = 3, *, clip: str | None = None, layers: Sequence[int] | None = None
    ) -> list[Any]:
        """A view without widgets, for notebooks read on GitHub or nbviewer: display each item in turn.

        :func:`~auralisation.ui.view.static_view` of ``clip`` (the one shown by default) at the explorer's method,
        seeding and loudness, on ``layers`` (all by default); maps come from the explorer's cache when it has them.
        """
        name = clip or self.clip.value
        if name is None:
            raise ParameterError("no clip to show: give clip=NAME or load one first")
        layers = range(1, self.layer.max + 1) if layers is None else layers
        return static_view(self._clip(name), self.cache, layers, count=count, seeding=self.seeding.value,
                           method=self.method.value, loudness=self.loudness.value)

    def select(
        self, *, clip: str | None = None, layer: int | None = None, feature: int | None = None,
        seeding: Seeding | None = None, loudness: Loudness | None = None, method: str | None = None,
    ) -> View | None:
        """Set several controls at once and show the result once; return :attr:`view`."""
        with self._hold():
            for control, value in ((self.clip, clip), (self.layer, layer), (self.seeding, seeding),
                                   (self.loudness, loudness), (self.method, method)):
                if value is not None:
                    control.value = value
            self.feature.max = self.cache.deconvolver.n_features(self.layer.value) - 1
            if feature is not None:
                self.feature.value = feature
        self._guard(self.refresh)
        return self.view


def _unpack_model(
    model: TrainedModel | keras.Model, config: AudioConfig | None
) -> tuple[keras.Model, AudioConfig, list[str]]:
    """The Keras model, its config and class names from what :class:`Explorer` was given."""
    if isinstance(model, TrainedModel):
        if config is not None and config != model.config:
            raise ParameterError("the config given differs from the trained model's own config; leave config out")
        return model.model, model.config, list(model.classes)
    if isinstance(model, keras.Model):
        if config is None:
            raise ParameterError(
                "a bare Keras model needs its AudioConfig: Explorer(model, clips, config=config), or pass the "
                "TrainedModel from auralisation.io.load_model"
            )
        return model, config, []
    raise ParameterError(f"expected a TrainedModel or a keras.Model, got {type(model).__name__}")
