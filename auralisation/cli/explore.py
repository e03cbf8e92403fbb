"""``auralisation explore``: serve the explorer as a web app (Voila) on this machine (:mod:`auralisation.app`)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import threading
import time
import webbrowser
from pathlib import Path

from .options import add_model_arguments, model_from_arguments

__all__: list[str] = []

EXAMPLE = "auralisation explore --model models/choi2016 --audio song.wav other.flac --port 8866 --max-visitors 4"


def _open_when_listening(url: str, ip: str, port: int, timeout: float = 120.0) -> None:
    """Open ``url`` in the default web browser once something listens on ``ip:port`` (in a background thread)."""

    def wait_and_open() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((ip, port), timeout=1.0):
                    webbrowser.open(url)
                    return
            except OSError:
                time.sleep(0.3)

    threading.Thread(target=wait_and_open, daemon=True).start()


def _positive(text: str) -> int:
    """A whole number of at least 1, for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _port(text: str) -> int:
    """A TCP port number, for argparse."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def add_explore_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``auralisation explore``."""
    add_model_arguments(parser)
    parser.add_argument("--audio", nargs="+", type=Path, default=[], metavar="FILE",
                        help="clips to offer (default: notebook 2's demo clips); more can be uploaded in the page")
    parser.add_argument("--port", type=_port, default=8866, help="port to listen on")
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    parser.add_argument("--max-visitors", type=_positive, metavar="N",
                        help="visitors at once, a kernel each; the next one is told the explorer is busy (default: "
                             "from the memory, (total - 2 GiB) / 1.7 GiB, at least 1)")
    parser.add_argument("--idle-timeout", type=_positive, metavar="SECONDS",
                        help="shut down a visitor's kernel idle this long, page open or not (default: 600)")


def run_explore(args: argparse.Namespace) -> int:
    """Run ``auralisation explore``: check the model and the clips, then serve the app until interrupted."""
    from voila.app import Voila

    from ..app import ENV_AUDIO, ENV_CONFIG, ENV_MODEL, IDLE_TIMEOUT, TEMPLATES, voila_argv
    from ..app.visitors import default_max_visitors
    from ..audio import load_clip
    from ..pretrained import is_pretrained

    trained = model_from_arguments(args)  # a clear error now rather than a broken page later
    for path in args.audio:
        load_clip(path, trained.config)
    token = secrets.token_urlsafe(16)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(TEMPLATES), os.environ.get("JUPYTER_PATH")]))
    os.environ[ENV_MODEL] = str(args.model) if is_pretrained(args.model) else str(Path(args.model).resolve())
    os.environ[ENV_AUDIO] = json.dumps([str(Path(path).resolve()) for path in args.audio])
    if Path(args.model).is_file():  # a lone .keras file: hand its audio settings to the app's kernel
        os.environ[ENV_CONFIG] = trained.config.to_json()
    host = f"[{args.ip}]" if ":" in args.ip else args.ip
    url = f"http://{host}:{args.port}/?token={token}"
    print(f"explore: serving the explorer of {args.model} at {url} (Ctrl+C stops it)", flush=True)
    if not args.no_browser:
        _open_when_listening(url, args.ip, args.port)
    visitors, idle = args.max_visitors or default_max_visitors(), args.idle_timeout or IDLE_TIMEOUT
    print(f"explore: at most {visitors} visitors at once; a kernel idle {idle} s is shut down", flush=True)
    Voila.launch_instance(argv=voila_argv(port=args.port, token=token, ip=args.ip, max_visitors=visitors,
                                          idle_timeout=idle))
    return 0
