"""Where an atlas's units run: in this process, or on Ray actors (a local Ray, or an existing cluster).

An engine is a context manager with one method, ``map(method, units)``, that runs
``AtlasWorker.<method>(unit)`` on each unit and yields the results *in the order of the units*, so that the
driver's merging, checkpoints and pages are the same whichever engine ran the work.

The Ray engine starts one actor per worker, each loading the model once (:class:`~.worker.AtlasWorker`), and
feeds them units through :class:`ray.util.ActorPool` (a few in flight per actor, the results streamed back in
order). With no address it starts a small local Ray for the run and shuts it down afterwards; with an address
(``"ray://head:10001"`` or ``"auto"``) it joins that cluster and leaves it running. Ray is an optional
dependency: ``pip install 'auralisation[ray]'``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from ..choices import ENGINES
from ..errors import AtlasError, ParameterError
from .worker import AtlasWorker, WorkerSpec

__all__ = ["ENGINES", "LocalEngine", "RayEngine", "open_engine"]


#: Object store of a local Ray started by the engine: small, the units and results are small.
RAY_OBJECT_STORE = 128 * 2**20


class LocalEngine:
    """Runs every unit in this process with one :class:`~.worker.AtlasWorker`."""

    name = "local"

    def __init__(self, spec: WorkerSpec) -> None:
        self.worker = AtlasWorker(spec)
        self.workers = 1

    def map(self, method: Literal["score", "render"], units: Iterable[Any]) -> Iterator[Any]:
        """``worker.<method>(unit)`` for each unit, in order."""
        run = getattr(self.worker, method)
        for unit in units:
            yield run(unit)

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _import_ray() -> Any:
    try:
        import ray
        import ray.util
    except ImportError:
        raise AtlasError(
            "the ray engine needs Ray, which is not installed: pip install 'auralisation[ray]' (or pip install "
            "ray), or use --engine local"
        ) from None
    return ray


class RayEngine:
    """Runs units on Ray actors, one model per actor.

    Parameters
    ----------
    spec : WorkerSpec
    address : str or None
        An existing cluster to join (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); None starts a local Ray
        with ``workers`` CPUs for this run.
    workers : int or None
        Actors (one CPU each); by default 2 on a local Ray, and every CPU of a cluster.
    """

    name = "ray"

    def __init__(self, spec: WorkerSpec, *, address: str | None = None, workers: int | None = None) -> None:
        ray = _import_ray()
        if workers is not None and workers < 1:
            raise ParameterError(f"workers must be at least 1, got {workers}")
        self._ray = ray
        self._started = False
        self._actors: list[Any] = []
        if not ray.is_initialized():
            env = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}}
            try:
                if address is None:
                    ray.init(
                        num_cpus=workers or 2, object_store_memory=RAY_OBJECT_STORE, include_dashboard=False,
                        log_to_driver=False, configure_logging=False, runtime_env=env,
                    )
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False, runtime_env=env)
            except Exception as error:  # Ray raises ConnectionError, RuntimeError or a bare Exception on start-up.
                ray.shutdown()
                where = f"join the Ray cluster at {address!r}" if address else "start a local Ray"
                raise AtlasError(f"cannot {where} ({error}); check the address (`ray status` on the head node), or "
                                 "try again when the machine is less loaded, or use --engine local") from None
            self._started = True
        try:
            if workers is None:
                workers = 2 if address is None else max(1, int(ray.cluster_resources().get("CPU", 1)))
            self.workers = workers
            actor = ray.remote(num_cpus=1)(AtlasWorker)
            self._actors = [actor.remote(spec) for _ in range(workers)]
            ray.get([a.__ray_ready__.remote() for a in self._actors])  # every model loaded before the first unit
            self._pool = ray.util.ActorPool(self._actors)
        except BaseException:
            self.close()
            raise

    def map(self, method: Literal["score", "render"], units: Iterable[Any]) -> Iterator[Any]:
        """``worker.<method>(unit)`` for each unit on the actors, yielded in the order of the units."""
        yield from self._pool.map(lambda actor, unit: getattr(actor, method).remote(unit), list(units))

    def close(self) -> None:
        """Stop the actors, and the local Ray if this engine started it."""
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
    """The engine named ``engine`` (one of :data:`ENGINES`), ready to map units."""
    if engine == "local":
        if address is not None:
            raise AtlasError("--address names a Ray cluster; use it with --engine ray")
        return LocalEngine(spec)
    if engine == "ray":
        return RayEngine(spec, address=address, workers=workers)
    raise ParameterError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
