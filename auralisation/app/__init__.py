"""The explorer as a standalone web app, for someone without Jupyter (``auralisation explore``).

Voilà serves the notebook this package ships (``explorer.ipynb`` beside this file), which builds the
:class:`~auralisation.ui.explorer.Explorer` with :func:`explorer_from_environment`. The page shows the explorer alone:
Voilà strips the code cells, serves one notebook (no file browser, no terminal, no other notebook), refuses every
kernel message but the widgets' own (no code can be run from the page) and exposes no file of the app's folder.
The server listens on 127.0.0.1 by default and asks for a random token (in the URL it prints and opens). Clips are
the files given, else notebook 2's demo clips; a visitor adds their own with the explorer's *upload* button (the
box for a path on the server's disk is hidden). Each visitor has a kernel of their own; at most ``--max-visitors``
at once, idle ones shut down after ``--idle-timeout`` seconds, the next visitor told the explorer is busy
(:mod:`.visitors`).

On the command line::

    auralisation explore --model models/choi2016 --audio song.wav other.flac --port 8866 --max-visitors 4

Examples
--------
>>> from auralisation.app import voila_argv
>>> "--Voila.ip=127.0.0.1" in voila_argv(port=8866, token="secret")
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..audio import AudioConfig
from ..errors import AuralisationError, ModelError
from ..io import load_model
from ..ui.explorer import Explorer
from .visitors import default_max_visitors

__all__ = ["NOTEBOOK", "explorer_from_environment", "voila_argv"]

#: The notebook Voilà serves.
NOTEBOOK = Path(__file__).with_name("explorer.ipynb")
#: A Jupyter data folder holding the app's Voila template (``voila/templates/explorer``).
TEMPLATES = Path(__file__).with_name("jupyter")
#: Environment variables through which ``auralisation explore`` hands the model and the clips to the app's kernel.
ENV_MODEL = "AURALISATION_EXPLORE_MODEL"
ENV_AUDIO = "AURALISATION_EXPLORE_AUDIO"
#: The audio settings of a lone ``.keras`` file, as AudioConfig JSON (unset for a model folder).
ENV_CONFIG = "AURALISATION_EXPLORE_CONFIG"
#: JupyterLab extensions Voila must not load into the page: they are JupyterLab's, and fail in Voila's page (jupytext's
#: where it is installed).
JUPYTERLAB_EXTENSIONS = (
    "@jupyter-notebook/lab-extension", "@voila-dashboards/jupyterlab-preview", "jupyterlab-jupytext",
)
#: Seconds a visitor's kernel may stay idle before it is shut down (``--idle-timeout``), and how often to look.
IDLE_TIMEOUT = 600
CULL_INTERVAL = 30


def explorer_from_environment() -> Explorer:
    """The app's explorer: the model in ``$AURALISATION_EXPLORE_MODEL`` on the clips in
    ``$AURALISATION_EXPLORE_AUDIO`` (a JSON list of paths), or on notebook 2's demo clips when none is given and
    FluidSynth can render them (else on none: the visitor uploads one).

    Raises
    ------
    ModelError
        ``$AURALISATION_EXPLORE_MODEL`` is unset, or names no saved model.
    """
    folder = os.environ.get(ENV_MODEL)
    if not folder:
        raise ModelError(f"${ENV_MODEL} is not set: start the app with `auralisation explore --model models/NAME`")
    settings = os.environ.get(ENV_CONFIG)
    trained = load_model(folder, config=AudioConfig.from_json(settings) if settings else None)
    paths = json.loads(os.environ.get(ENV_AUDIO) or "[]")
    clips: dict[str, object] | list[str] = paths
    if not paths:
        from ..synth import demo_clips  # FluidSynth is needed only here

        try:
            clips = demo_clips(trained.config)
        except AuralisationError:
            clips = []
    return Explorer(trained, clips, local_files=False)


def voila_argv(
    *, port: int, token: str, ip: str = "127.0.0.1", max_visitors: int | None = None, idle_timeout: int = IDLE_TIMEOUT
) -> list[str]:
    """Voilà's command line for serving :data:`NOTEBOOK` (it does not open a browser itself) to at most
    ``max_visitors`` at once (default: :func:`~.visitors.default_max_visitors`), each visitor's kernel shut down
    after ``idle_timeout`` seconds idle (:mod:`.visitors`)."""
    max_visitors = max_visitors or default_max_visitors()
    return [
        str(NOTEBOOK),
        "--no-browser",
        "--strip_sources=True",
        "--show_tracebacks=False",
        # Nothing of the app's folder is served: the page needs none of its files.
        "--VoilaConfiguration.file_denylist=.*",
        *(f"--VoilaConfiguration.extension_denylist={name}" for name in JUPYTERLAB_EXTENSIONS),
        f"--Voila.root_dir={NOTEBOOK.parent}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        f"--port={port}",
        f"--Voila.token={token}",
        "--VoilaConfiguration.multi_kernel_manager_class=auralisation.app.visitors.VisitorKernelManager",
        f"--VisitorKernelManager.max_kernels={max_visitors}",
        f"--VisitorKernelManager.cull_idle_timeout={idle_timeout}",
        f"--VisitorKernelManager.cull_interval={min(CULL_INTERVAL, idle_timeout)}",
        "--VisitorKernelManager.cull_connected=True",  # an abandoned tab holds a seat as much as a closed one
        "--Voila.log_level=WARN",
        # Voila's lab template without its links to a CDN (jupyter/voila/templates/explorer beside this file).
        "--template=explorer",
    ]
