"""Where an atlas's units run: in this process, or on Ray actors (a local Ray, or an existing cluster).

An engine is a context manager with one method, ``map(method, units)``, that runs ``AtlasWorker.<method>(unit)``
on each unit and yields ``(unit, result)`` pairs *as they complete*. The driver files each result under its unit's
number (pass 1's shard, pass 2's chunk) and merges them in that order, so the site is the same whichever engine ran
the work and in whatever order it finished.

The Ray engine starts one actor per worker, each loading the model once (:class:`~.worker.AtlasWorker`), with
``threads`` CPUs reserved and TensorFlow (and OpenMP) capped at that many threads. It keeps two units in flight per
actor and takes the results with ``ray.wait`` as they come, so a slow unit holds back nobody. The driver's copy of
this package is shipped to every worker through Ray's ``runtime_env`` (``py_modules``): a worker node needs Python,
Ray and the dependencies, not the package. Paths in the units are absolute (resolved by the driver), and the model,
corpus, cache and site folder must be readable (the site folder writable) at the same paths on every node: shared
storage. A unit that fails on a worker stops the run with a one-line :class:`~auralisation.errors.AtlasError` naming
it; the units already done are kept for ``--resume``.

With no address the engine starts a small local Ray for the run (``address="local"``: never a cluster that happens to
run on this machine) and shuts it down afterwards; with an address (``"host:6379"``, ``"ray://head:10001"`` or
``"auto"``) it joins that cluster and leaves it running. Ray is an optional dependency:
``pip install 'auralisation[ray]'``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from ..choices import ENGINES
from ..errors import AtlasError, ParameterError
from .worker import AtlasWorker, RenderUnit, ScoreUnit, WorkerSpec

__all__ = ["ENGINES", "LocalEngine", "RayAtlasWorker", "RayEngine", "check_engine", "open_engine", "runtime_env"]


#: Object store of a local Ray started by the engine: small, the units and results are small.
RAY_OBJECT_STORE = 128 * 2**20

#: Units in flight per Ray actor: the next one waits on the actor while it runs the current one.
IN_FLIGHT = 2

Unit = ScoreUnit | RenderUnit


def check_engine(engine: str, *, address: str | None, workers: int | None, threads: int | None) -> None:
    """Refuse, before any work, settings that ``engine`` cannot honour.

    Examples
    --------
    >>> check_engine("ray", address=None, workers=2, threads=1)
    >>> check_engine("local", address=None, workers=4, threads=None)
    Traceback (most recent call last):
    ...
    auralisation.errors.AtlasError: --workers 4: the local engine runs one worker, in this process; use --engine ray --workers 4 for 4 workers (a local Ray, or a cluster with --address), or drop --workers
    """
    if engine not in ENGINES:
        raise ParameterError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    for name, value in (("workers", workers), ("threads", threads)):
        if value is not None and value < 1:
            raise ParameterError(f"{name} must be at least 1, got {value}")
    if engine == "ray":
        return
    if address is not None:
        raise AtlasError("--address names a Ray cluster; use it with --engine ray")
    if workers is not None and workers != 1:
        raise AtlasError(f"--workers {workers}: the local engine runs one worker, in this process; use --engine ray "
                         f"--workers {workers} for {workers} workers (a local Ray, or a cluster with --address), or "
                         "drop --workers")
    if threads is not None:
        raise AtlasError(f"--threads {threads}: sets the TensorFlow threads of each Ray actor; the local engine "
                         "leaves TensorFlow's own in this process: drop --threads, or use --engine ray")


class LocalEngine:
    """Runs every unit in this process with one :class:`~.worker.AtlasWorker`."""

    name = "local"

    def __init__(self, spec: WorkerSpec) -> None:
        self.worker = AtlasWorker(spec)
        self.workers = 1

    def describe(self) -> list[dict[str, object]]:
        """The worker: where it runs and with how many threads (:meth:`~.worker.AtlasWorker.describe`)."""
        return [self.worker.describe()]

    def map(self, method: Literal["score", "render"], units: Sequence[Unit]) -> Iterator[tuple[Unit, Any]]:
        """``(unit, worker.<method>(unit))`` for each unit, in order."""
        run = getattr(self.worker, method)
        for unit in units:
            yield unit, run(unit)

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise AtlasError(
            "the ray engine needs Ray, which is not installed: pip install 'auralisation[ray]' (or pip install "
            "ray), or use --engine local"
        ) from None
    return ray


class RayAtlasWorker(AtlasWorker):
    """The Ray actor: an :class:`~.worker.AtlasWorker` that also names its Ray node."""

    def describe(self) -> dict[str, object]:
        """:meth:`AtlasWorker.describe <.worker.AtlasWorker.describe>` and the Ray node's id."""
        import ray

        return {**super().describe(), "node": ray.get_runtime_context().get_node_id()}


def runtime_env(threads: int) -> dict[str, Any]:
    """Ray's ``runtime_env`` for the atlas's job: this package shipped to the workers, threads capped.

    Examples
    --------
    >>> env = runtime_env(2)
    >>> Path(env["py_modules"][0]).name, env["env_vars"]["OMP_NUM_THREADS"]
    ('auralisation', '2')
    """
    from .. import __file__ as package

    return {
        "py_modules": [str(Path(package).parent)],
        "excludes": ["__pycache__", "*.pyc"],
        "env_vars": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                     "OMP_NUM_THREADS": str(threads)},
    }


def _first_line(error: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


class RayEngine:
    """Runs units on Ray actors, one model per actor.

    Parameters
    ----------
    spec : WorkerSpec
        Its ``threads`` (default 1) are the CPUs each actor reserves and TensorFlow's threads in it.
    address : str or None
        An existing cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); None starts a local Ray
        with ``workers * threads`` CPUs for this run.
    workers : int or None
        Actors; by default 2 on a local Ray, and as many as the cluster's CPUs hold.
    """

    name = "ray"

    def __init__(self, spec: WorkerSpec, *, address: str | None = None, workers: int | None = None) -> None:
        ray = _import_ray()
        threads = spec.threads or 1
        spec = dataclasses.replace(spec, threads=threads)
        self._ray = ray
        self._started = False
        self._actors: list[Any] = []
        if not ray.is_initialized():
            env = runtime_env(threads)
            try:
                if address is None:
                    ray.init(
                        address="local", num_cpus=(workers or 2) * threads, object_store_memory=RAY_OBJECT_STORE,
                        include_dashboard=False, log_to_driver=False, configure_logging=False, runtime_env=env,
                    )
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False, runtime_env=env)
            except Exception as error:  # Ray raises ConnectionError, RuntimeError or a bare Exception on start-up.
                ray.shutdown()
                where = f"join the Ray cluster at {address!r}" if address else "start a local Ray"
                raise AtlasError(f"cannot {where} ({_first_line(error)}); check the address (`ray status` on the "
                                 "head node), or try again when the machine is less loaded, or use --engine local"
                                 ) from None
            self._started = True
        try:
            if workers is None:
                workers = 2 if address is None else max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
            self.workers = workers
            actor = ray.remote(num_cpus=threads)(RayAtlasWorker)
            self._actors = [actor.remote(spec) for _ in range(workers)]
            self._description = self._get([a.describe.remote() for a in self._actors], "starting the workers")
        except BaseException:
            self.close()
            raise

    def _get(self, refs: Any, what: str) -> Any:
        """``ray.get(refs)``, a worker's failure raised as a one-line :class:`AtlasError` saying ``what`` failed."""
        exceptions = self._ray.exceptions
        try:
            return self._ray.get(refs)
        except exceptions.RayTaskError as error:
            cause = error.cause if isinstance(error.cause, BaseException) else error
            raise AtlasError(f"{what} failed on a Ray worker: {_first_line(cause)}; the units done are kept (fix "
                             "it, then run again with --resume)") from None
        except exceptions.RayActorError as error:
            raise AtlasError(f"the Ray worker died while {what} ({_first_line(error)}): out of memory, or its node "
                             "left the cluster; the units done are kept (run again with --resume)") from None

    def describe(self) -> list[dict[str, object]]:
        """Each actor: its node, host, process, package and threads (:meth:`RayAtlasWorker.describe`)."""
        return list(self._description)

    def map(self, method: Literal["score", "render"], units: Sequence[Unit]) -> Iterator[tuple[Unit, Any]]:
        """``(unit, actor.<method>(unit))`` for each unit on the actors, as they complete."""
        queue = iter(units)
        running: dict[Any, tuple[Unit, Any]] = {}

        def submit(actor: Any) -> None:
            unit = next(queue, None)
            if unit is not None:
                running[getattr(actor, method).remote(unit)] = (unit, actor)

        for actor in self._actors * IN_FLIGHT:
            submit(actor)
        while running:
            [ref], _ = self._ray.wait(list(running), num_returns=1)
            unit, actor = running.pop(ref)
            result = self._get(ref, unit.name)
            submit(actor)
            yield unit, result

    def close(self) -> None:
        """Stop the actors, and the Ray this engine started (a local one, or its connection to a cluster)."""
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self._started:
            self._ray.shutdown()
            self._started = False

    def __enter__(self) -> "RayEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_engine(
    engine: str, spec: WorkerSpec, *, address: str | None = None, workers: int | None = None
) -> LocalEngine | RayEngine:
    """The engine named ``engine`` (one of :data:`ENGINES`), ready to map units (settings checked by
    :func:`check_engine`)."""
    check_engine(engine, address=address, workers=workers, threads=spec.threads)
    if engine == "local":
        return LocalEngine(spec)
    return RayEngine(spec, address=address, workers=workers)
