"""Datasets: labelled tracks in a folder, excerpts, splits by track, a spectrogram cache and ``tf.data`` pipelines.

A dataset is a folder with one sub-folder of audio files per label, as GTZAN ships it
(``genres/<genre>/<genre>.000NN.au``)::

    root/
        blues/blues.00000.au
        blues/blues.00001.au
        ...
        jazz/jazz.00000.au

:func:`scan_folder` turns it into a list of :class:`Excerpt` (a track, its label and the start of a
``config.duration``-second clip), reading only what it needs to know each track's length. :func:`split_by_track`
splits the excerpts into training, validation and test sets so that no track lends excerpts to two of them.
:class:`SpectrogramCache` decodes each excerpt once and keeps its magnitude spectrogram on disk, so that a second
epoch or a second run decodes no audio; :func:`make_dataset` and :func:`to_arrays` feed it to Keras.

Nothing is downloaded: point :func:`scan_folder` at your own copy of a dataset.

Examples
--------
>>> from auralisation.audio import AudioConfig
>>> from auralisation.data import SpectrogramCache, make_dataset, scan_folder, split_by_track
>>> config = AudioConfig()
>>> classes, excerpts = scan_folder("data/genres", config)                    # doctest: +SKIP
>>> splits = split_by_track(excerpts, seed=0)                                 # doctest: +SKIP
>>> cache = SpectrogramCache("data/cache", config)                            # doctest: +SKIP
>>> train = make_dataset(splits.train, classes, cache, shuffle=True)          # doctest: +SKIP
"""

from __future__ import annotations

from .folders import DatasetWarning, Excerpt, Splits, scan_folder, split_by_track
from .pipeline import SpectrogramCache, label_indices, make_dataset, to_arrays

__all__ = [
    "DatasetWarning", "Excerpt", "SpectrogramCache", "Splits", "label_indices", "make_dataset", "scan_folder",
    "split_by_track", "to_arrays",
]
