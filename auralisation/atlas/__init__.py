"""A feature atlas over a whole corpus: for every feature of every layer, the excerpts that excite it most.

As OpenAI Microscope and Lucid's dataset examples do for image networks, :func:`build_atlas` finds, for each
feature, the top-k excerpts of a corpus (a GTZAN-style folder, or a list of files) by the feature's activation, and
writes a static site to see and hear them: the excerpt, the feature's auralisation, ``|X| * D``, the excerpt's label
and time in its track, and the feature's activation over the corpus with the label mix of its top excerpts.

* :mod:`.corpus`: the corpus's excerpts in a fixed order, and the files skipped;
* :mod:`.topk`: streaming top-k and histograms (memory flat in the corpus size);
* :mod:`.worker`: the units of work (score a shard, render some features), one model per worker;
* :mod:`.engines`: where the units run, this process or Ray actors;
* :mod:`.build`: the two passes, checkpoints and resuming, the command line;
* :mod:`.site`: the pages;
* :mod:`.labels` and :mod:`.summary`: reading an atlas (label selectors; bass, onset and harmonic features).

On the command line::

    auralisation atlas --model models/choi2016 --data data/generated --out results/atlas --top 9 [--engine ray]
"""

from __future__ import annotations

from .build import ATLAS_FILE, build_atlas
from .corpus import Corpus, scan_corpus

__all__ = ["ATLAS_FILE", "Corpus", "build_atlas", "scan_corpus"]
