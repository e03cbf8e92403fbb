"""How many visitors ``auralisation explore`` holds, and what the others see.

Every visitor of the app gets a kernel of their own, with TensorFlow and the model loaded: about
:data:`BYTES_PER_VISITOR` of memory (measured with the trained ``choi2016``; see ``docs/cluster.md``). So the app
admits at most ``--max-visitors`` kernels at once (:class:`VisitorKernelManager`); the next visitor gets a page that
says the explorer is busy (HTTP 503, ``jupyter/voila/templates/explorer/503.html`` beside this file), at once, rather
than a page that hangs while the machine swaps. A kernel idle for ``--idle-timeout`` seconds (no message from its
page: no slider moved, no clip picked) is shut down, page open or not, and its seat goes to the next visitor; a
visitor who comes back to it reloads the page.

Examples
--------
>>> default_max_visitors(16 * 2**30)
8
>>> default_max_visitors(2 * 2**30)
1
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

__all__ = ["BYTES_PER_VISITOR", "RESERVED_BYTES", "VisitorKernelManager", "default_max_visitors", "memory_bytes"]

#: Memory of one visitor's kernel (TensorFlow, the model, the explorer's caches), measured: about 1.7 GB.
BYTES_PER_VISITOR = int(1.7 * 2**30)
#: Memory left to the server, the system and everything else on the machine.
RESERVED_BYTES = 2 * 2**30


def memory_bytes() -> int:
    """This machine's physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_max_visitors(memory: int | None = None) -> int:
    """Visitors the app holds by default: ``floor((memory - 2 GiB) / 1.7 GiB)``, at least 1.

    Parameters
    ----------
    memory : int, optional
        Bytes of memory (default: this machine's, :func:`memory_bytes`).
    """
    memory = memory_bytes() if memory is None else memory
    return max(1, (memory - RESERVED_BYTES) // BYTES_PER_VISITOR)


class VisitorKernelManager(AsyncMappingKernelManager):  # type: ignore[misc]
    """Jupyter Server's kernel manager, holding at most ``max_kernels`` kernels (one per visitor).

    A kernel asked for beyond that raises HTTP 503 before anything is started, which Voila answers with the app's
    busy page. Kernels being started count, so that visitors arriving together cannot overshoot.
    """

    max_kernels = Integer(0, config=True, help="The most kernels at once; 0: no limit.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting = 0

    def busy_message(self) -> str:
        """What the busy page says: how many visitors the explorer holds, and when a seat frees.

        Examples
        --------
        >>> VisitorKernelManager(max_kernels=2, cull_idle_timeout=600).busy_message()
        '2 visitors are exploring now, the most this machine holds. A seat frees when one of them leaves, or after 10 min idle.'
        """
        visitors = "1 visitor is" if self.max_kernels == 1 else f"{self.max_kernels} visitors are"
        timeout = self.cull_idle_timeout
        idle = "" if timeout <= 0 else f", or after {timeout // 60} min idle" if timeout >= 120 else f", or after {timeout} s idle"
        return f"{visitors} exploring now, the most this machine holds. A seat frees when one of them leaves{idle}."

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        """Start a kernel, or refuse with HTTP 503 when ``max_kernels`` are running or starting."""
        if self.max_kernels and len(self.list_kernel_ids()) + self._starting >= self.max_kernels:
            raise web.HTTPError(503, self.busy_message(), reason="the explorer is busy")
        self._starting += 1
        try:
            return str(await super().start_kernel(*args, **kwargs))
        finally:
            self._starting -= 1
