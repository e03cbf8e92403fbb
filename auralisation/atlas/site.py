"""The atlas as a static site: an index of layers, a page per layer, a page per feature (no server, no fetches).

Every page carries the report's self-check (:mod:`auralisation.ui.page`): in the browser it checks that every
player decodes and every image loads, and writes the result into ``<body data-selfcheck=...>``. Pages hold no
date and no absolute path of the site, so the same corpus gives the same pages byte for byte.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..analysis.stem_labels import SELECTOR_RULE, StemLabel, excerpts_label
from ..fileio import atomic_write_text
from ..ui.page import PAGE_STYLE, SELF_CHECK_SCRIPT
from .labels import SELECTOR_LIFT, SELECTOR_SHARE, label_selectivity
from .worker import excerpt_asset, feature_assets

__all__ = ["INDEX", "feature_page", "layer_page", "write_site"]

#: The site's entry page.
INDEX = "index.html"

_ATLAS_STYLE = """
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { width: 132px; font-size: .8em; text-align: center; border: 1px solid #ddd; padding: 4px; }
.tile img { width: 128px; height: 96px; image-rendering: pixelated; margin: 0 auto 3px; }
.tile a { color: inherit; text-decoration: none; }
img.map { width: 346px; height: 257px; display: inline-block; margin-right: 8px; }
.excerpt { border-top: 1px solid #ddd; padding-top: .4em; }
table.layers td, table.layers th { padding: 2px 10px; text-align: left; }
"""


def _head(title: str) -> list[str]:
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{PAGE_STYLE}{_ATLAS_STYLE}</style>",
        f"<script>{SELF_CHECK_SCRIPT}</script>",
        '</head><body data-selfcheck="pending">',
    ]


def _tail() -> list[str]:
    return ['<p id="selfcheck" class="meta">Self-check: pending (needs JavaScript).</p>', "</body></html>"]


def _src(path: str, up: int) -> str:
    """A ``src``/``href`` for the site-relative ``path`` from a page ``up`` folders below the site's root."""
    return quote("../" * up + path)


def _mix(labels: Sequence[str]) -> str:
    """``"rock 5, metal 3"``: labels by count, then name."""
    counts = Counter(labels)
    return ", ".join(f"{label} {n}" for label, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _page_name(layer: str, feature: int | None = None) -> str:
    return f"{layer}/index.html" if feature is None else f"{layer}/f{feature:03d}.html"


def _layer_title(layer: dict[str, Any]) -> str:
    block = f"layer {layer['block']} " if layer["block"] is not None else ""
    return f"{block}({layer['layer']})"


def _stem_label(record: dict[str, Any], layer: str, feature: int) -> StemLabel:
    return excerpts_label(record["stems"], record["shares"], record["mix"], layer=layer, feature=feature)


def _stem_table(record: dict[str, Any], layer: str, feature: int) -> str:
    """The stem shares of the top excerpts' auralisations, their mean, the excerpts' own, and the label."""
    label = _stem_label(record, layer, feature)
    cells = lambda values: "".join(  # noqa: E731
        f"<td>{value:.2f}</td>" if value is not None else "<td>silent</td>" for value in values)
    rows = [f"<tr><td>#{rank + 1}</td>{cells(shares or [None] * len(record['stems']))}</tr>"
            for rank, shares in enumerate(record["shares"])]
    heard = [row for row in record["shares"] if row is not None]
    if heard:
        rows.append(f"<tr><th>mean</th>{cells(np.mean(heard, axis=0).tolist())}</tr>")
    rows.append(f"<tr><th>the excerpts</th>{cells(np.mean(record['mix'], axis=0).tolist())}</tr>")
    top = label.top
    return (
        f"<p>Stem measure: <b>{escape(label.label)}</b> ({escape(top.stem)} share {top.share:.2f}, "
        f"enrichment {top.enrichment:.2f} over the excerpts' own {top.mix_share:.2f}). Share of each top excerpt's "
        "auralised magnitude that each stem explains:</p>"
        f'<table class="layers"><tr><th></th>{"".join(f"<th>{escape(s)}</th>" for s in record["stems"])}</tr>'
        + "".join(rows) + f'</table><p class="meta">Label rule: {escape(SELECTOR_RULE.text)}.</p>'
    )


def _tags_line(entry: dict[str, Any]) -> str:
    """The tagger's mean tags over the feature's top excerpts (an atlas of a tagger), beside the label mix."""
    if not entry.get("tags"):
        return ""
    tags = ", ".join(f"{tag} {p:.2f}" for tag, p in entry["tags"])
    return f"<p>The tagger's mean tags over these {len(entry['top'])} excerpts: <b>{escape(tags)}</b>.</p>"


def feature_page(atlas: dict[str, Any], layer: dict[str, Any], position: int) -> str:
    """The HTML of one feature: its histogram and label mix, and each top excerpt with its players and picture."""
    entry = layer["features"][position]
    feature = entry["feature"]
    name = layer["layer"]
    n = len(layer["features"])
    title = f"{_layer_title(layer).capitalize()}, feature {feature}"
    links = [f'<a href="index.html">all features of {escape(_layer_title(layer))}</a>',
             f'<a href="{_src(INDEX, 1)}">atlas index</a>']
    if position > 0:
        links.append(f'<a href="{_src(_page_name(name, layer["features"][position - 1]["feature"]), 1)}">'
                     "previous feature</a>")
    if position < n - 1:
        links.append(f'<a href="{_src(_page_name(name, layer["features"][position + 1]["feature"]), 1)}">'
                     "next feature</a>")
    files = feature_assets(name, feature)
    labels = [top["label"] for top in entry["top"]]
    dead = bool(entry["top"]) and entry["top"][0]["activation"] <= 0
    parts = _head(title) + [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{" &middot; ".join(links)}</p>',
        _stem_table(entry["stems"], name, feature) if entry.get("stems") else "",
        "<p><b>This feature never fires on the corpus</b> (its activation is 0 on every excerpt): the excerpts below "
        "are the first ones in the corpus's order, and its auralisations are silent.</p>" if dead else "",
        f"<p>The {len(entry['top'])} excerpts of the corpus that excite this feature most (activation: the "
        f"<b>{escape(atlas['statistic'])}</b> of its map), strongest first. Label mix of the top "
        f"{len(labels)}: <b>{escape(_mix(labels))}</b>. The histogram shows the activation over all "
        f"{atlas['corpus']['excerpts']} excerpts, stacked by label; right, the top excerpts per label against what "
        "the labels' shares of the corpus would give.</p>",
        _tags_line(entry),
        f'<img src="{_src(files["hist"], 1)}" alt="activation histogram of feature {feature}" style="width:640px">',
    ]
    for rank, top in enumerate(entry["top"]):
        assets = feature_assets(name, feature, rank)
        start, end = top["offset"], top["offset"] + atlas["corpus"]["duration"]
        parts += [
            '<div class="excerpt">',
            f"<h3>#{rank + 1}: {escape(top['label'])}, {escape(top['track'])}, {start:g}&ndash;{end:g} s "
            f"&mdash; activation {top['activation']:.4g}</h3>",
            f'<p>excerpt: <audio controls preload="metadata" src="{_src(excerpt_asset(top["excerpt"]), 1)}"></audio> '
            f'&nbsp; auralisation of the feature: <audio controls preload="metadata" '
            f'src="{_src(assets["wav"], 1)}"></audio></p>',
            f'<p class="meta">left: D, right: |X| &middot; D; {start:g}&ndash;{end:g} s left to right, 0&ndash;'
            f'{atlas["corpus"]["sr"] / 2:g} Hz bottom to top</p>',
            f'<p><img src="{_src(assets["d"], 1)}" alt="D on excerpt {rank + 1}" class="map"> '
            f'<img src="{_src(assets["png"], 1)}" alt="|X|*D of excerpt {rank + 1}" class="map"></p>',
            "</div>",
        ]
    return "\n".join(parts + _tail()) + "\n"


def layer_page(atlas: dict[str, Any], layer: dict[str, Any]) -> str:
    """The HTML of one layer: a tile per feature, its strongest excerpt's deconvolved spectrogram as thumbnail."""
    title = f"{_layer_title(layer).capitalize()}: {len(layer['features'])} features"
    tiles = []
    for entry in layer["features"]:
        feature = entry["feature"]
        labels = [top["label"] for top in entry["top"]]
        best = entry["top"][0]["activation"] if entry["top"] else float("nan")
        tiles.append(
            f'<div class="tile"><a href="f{feature:03d}.html">'
            f'<img src="{_src(feature_assets(layer["layer"], feature)["thumb"], 1)}" alt="feature {feature}">'
            f"feature {feature}<br>top {best:.3g}<br>"
            + (escape(_mix(labels[:3])) if best > 0 else "never fires")
            + (f"<br><b>{escape(_stem_label(entry['stems'], layer['layer'], feature).label)}</b>"
               if entry.get("stems") else "") + "</a></div>"
        )
    parts = _head(title) + [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta"><a href="{_src(INDEX, 1)}">atlas index</a></p>',
        "<p>Each tile is the deconvolved spectrogram <i>D</i> of the feature on the excerpt that excites it most "
        "(red: energy added with the clip's phase, blue: with the phase flipped; low frequencies at the bottom), its "
        f"strongest activation ({escape(atlas['statistic'])} of the map), and the labels of its three strongest "
        "excerpts. Click a tile for the feature's page.</p>",
        f'<div class="tiles">{"".join(tiles)}</div>',
    ]
    return "\n".join(parts + _tail()) + "\n"


def index_page(atlas: dict[str, Any]) -> str:
    """The HTML of the entry page: the model, the corpus, the layers, what was skipped."""
    corpus = atlas["corpus"]
    title = f"Feature atlas of {atlas['model']['name']}"
    selectivity = label_selectivity(atlas)
    rows = []
    for layer in atlas["layers"]:
        fire = [row for row in selectivity if row.layer == layer["layer"]]
        selectors = Counter(row.label for row in fire if row.selector)
        listed = ", ".join(f"{label} {n}" for label, n in sorted(selectors.items(), key=lambda i: (-i[1], i[0])))
        rows.append(
            f'<tr><td><a href="{_src(_page_name(layer["layer"]), 0)}">{escape(_layer_title(layer))}</a></td>'
            f"<td>{len(layer['features'])}</td><td>{len(fire)}</td><td>{sum(selectors.values())}</td>"
            f"<td>{escape(listed)}</td></tr>"
        )
    parts = _head(title) + [
        f"<h1>{escape(title)}</h1>",
        f"<p>For every feature of every layer, the {atlas['top']} excerpts of the corpus that excite it most "
        f"(activation: the <b>{escape(atlas['statistic'])}</b> of the feature's map; ties go to the earlier track "
        "and offset), each with its player, the feature's auralisation (<i>istft(X &middot; D)</i>, the feature's "
        "top excerpts at one gain) and <i>|X| &middot; D</i>.</p>",
        f'<p class="meta">model {escape(atlas["model"]["folder"])} ({escape(atlas["model"]["name"])}); corpus '
        f"{escape(', '.join(corpus['sources']))}: {corpus['excerpts']} excerpts of {corpus['tracks']} tracks, "
        f"labels {escape(', '.join(corpus['labels']))}; deconvolution seeding {escape(atlas['seeding'])}.</p>",
        "<ul>" + "".join(f"<li>{escape(note)}</li>" for note in corpus["notes"]) + "</ul>",
        '<table class="layers"><tr><th>layer</th><th>features</th><th>that fire</th><th>label selectors</th>'
        "<th>selected labels</th></tr>" + "".join(rows) + "</table>",
        f'<p class="meta">A label selector: at least {SELECTOR_SHARE:.0%} of its top excerpts carry one label, at '
        f"{SELECTOR_LIFT:g} times or more that label's share of the corpus.</p>",
    ]
    skipped = atlas["skipped"]
    if skipped:
        parts += [f"<h2>Skipped: {len(skipped)}</h2>",
                  "<ul>" + "".join(f"<li>{escape(item['path'])}: {escape(item['reason'])}</li>" for item in skipped)
                  + "</ul>"]
    else:
        parts.append('<p class="meta">No file was skipped.</p>')
    return "\n".join(parts + _tail()) + "\n"


def write_site(out: Path, atlas: dict[str, Any]) -> Path:
    """Write every page of ``atlas`` into ``out``, atomically, the index last; return the index's path.

    A feature whose stem shares were written (a corpus with stems) shows them on its page and its label on the layer's.
    """
    atlas = copy.deepcopy(atlas)
    for layer in atlas["layers"]:
        for entry in layer["features"]:
            stems = out / feature_assets(layer["layer"], entry["feature"])["stems"]
            entry["stems"] = json.loads(stems.read_text()) if stems.is_file() else None
    for layer in atlas["layers"]:
        for position, entry in enumerate(layer["features"]):
            atomic_write_text(out / _page_name(layer["layer"], entry["feature"]), feature_page(atlas, layer, position))
        atomic_write_text(out / _page_name(layer["layer"]), layer_page(atlas, layer))
    return atomic_write_text(out / INDEX, index_page(atlas))
