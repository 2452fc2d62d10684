"""PyTorch threads that give way to other processes on a busy machine.

PyTorch's OpenMP threads spin while they wait for work. When another process
holds one of the cores, a spinning thread takes turns with it, and every
parallel region waits for the thread that lost its turn: on 2 cores beside one
busy process a 2-thread training step was 3.6 times slower than on the idle
machine, a 1-thread step 1.4 times (``python -m fedvideo.bench contention``).

:class:`AdaptiveThreads` keeps PyTorch's intra-op thread count at the cores
that other processes leave free, up to a limit, from the busy time of the whole
machine minus this process's own (``/proc/stat`` and ``/proc/self/stat``, read
every few seconds; on a system without them it keeps the limit).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

__all__ = [
    "AdaptiveThreads",
    "CpuSample",
    "adaptive_threads",
    "others_busy_cores",
    "read_cpu_sample",
    "threads_for_load",
]

#: Clock ticks per second of the /proc counters.
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    """CPU time counters at one moment, in seconds.

    Attributes
    ----------
    wall : float
        ``time.monotonic()`` when the counters were read.
    machine_busy : float
        Busy time of all cores together since boot (not idle, not waiting for I/O).
    own : float
        User and system time of this process (all its threads) since it started.
    """

    wall: float
    machine_busy: float
    own: float


def _machine_busy_seconds(stat_line: str) -> float:
    """Busy seconds in the ``cpu`` line of ``/proc/stat`` (idle and iowait excluded)."""
    fields = [int(x) for x in stat_line.split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]:
    # guest time is already counted in user and nice.
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / _TICKS


def _own_seconds(self_stat: str) -> float:
    """User plus system time of ``/proc/self/stat`` in seconds."""
    # The command name (field 2) may hold spaces; fields after it are plain.
    after_name = self_stat.rsplit(")", 1)[1].split()
    utime, stime = int(after_name[11]), int(after_name[12])
    return (utime + stime) / _TICKS


def read_cpu_sample() -> CpuSample | None:
    """Read the machine's and this process's CPU time, or None without ``/proc``."""
    try:
        with open("/proc/stat") as f:
            cpu_line = f.readline()
        with open("/proc/self/stat") as f:
            self_stat = f.read()
        return CpuSample(
            wall=time.monotonic(),
            machine_busy=_machine_busy_seconds(cpu_line),
            own=_own_seconds(self_stat),
        )
    except (OSError, ValueError, IndexError):
        return None


def others_busy_cores(before: CpuSample, after: CpuSample) -> float:
    """Cores that other processes kept busy between two samples, on average.

    Parameters
    ----------
    before, after : CpuSample
        Two samples of the same process, ``after`` taken later.

    Returns
    -------
    float
        (machine busy time − this process's CPU time) / wall time, at least 0.
    """
    wall = after.wall - before.wall
    if wall <= 0:
        raise ValueError("the second sample must be taken after the first")
    others = (after.machine_busy - before.machine_busy) - (after.own - before.own)
    return max(0.0, others / wall)


def threads_for_load(limit: int, cpu_count: int, others_busy: float) -> int:
    """Threads for this process: the cores others leave free, 1 to ``limit``.

    A core counts as taken once other processes keep it busy more than half
    the time.

    Parameters
    ----------
    limit : int
        Most threads to use (the cores reserved for this process).
    cpu_count : int
        Cores of the machine.
    others_busy : float
        Cores other processes kept busy (:func:`others_busy_cores`).

    Returns
    -------
    int
        ``min(limit, cpu_count − others_busy rounded to a whole core)``, at least 1.
    """
    if limit < 1 or cpu_count < 1:
        raise ValueError(f"limit and cpu_count must be >= 1, got {limit}, {cpu_count}")
    free = math.floor(cpu_count - others_busy + 0.5)
    return max(1, min(limit, free))


class AdaptiveThreads:
    """Keep PyTorch's thread count at the cores other processes leave free.

    Call :meth:`update` often (e.g. before every training step); it reads the
    CPU counters once ``interval`` seconds have passed since the last reading
    and sets ``torch.set_num_threads`` from the load between the two.

    Parameters
    ----------
    limit : int
        Most threads (the cores reserved for this process).
    interval : float
        Seconds between two readings of the counters.
    cpu_count : int, optional
        Cores of the machine (default ``os.cpu_count()``).
    sample : callable, optional
        Reads a :class:`CpuSample` (default :func:`read_cpu_sample`; tests
        pass their own).
    """

    def __init__(
        self,
        limit: int,
        interval: float = 2.0,
        cpu_count: int | None = None,
        sample: Callable[[], CpuSample | None] = read_cpu_sample,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.interval = interval
        self.cpu_count = cpu_count or os.cpu_count() or 1
        self._sample = sample
        self._last = sample()
        self.threads = limit
        self.changes = 0
        _set_threads(limit)

    def update(self) -> int:
        """Re-read the load if ``interval`` has passed; return the thread count."""
        if self._last is None:
            return self.threads
        now = self._sample()
        if now is None or now.wall - self._last.wall < self.interval:
            return self.threads
        others = others_busy_cores(self._last, now)
        self._last = now
        threads = threads_for_load(self.limit, self.cpu_count, others)
        if threads != self.threads:
            self.threads = threads
            self.changes += 1
            _set_threads(threads)
        return self.threads

    def restore(self) -> None:
        """Set the thread count back to ``limit`` (at the end of a round)."""
        self.threads = self.limit
        _set_threads(self.limit)

    def measure_now(self, seconds: float = 0.2) -> int:
        """Sample the load over the next ``seconds`` (blocking) and apply it.

        For a process that was idle since the last reading (a server about to
        evaluate), whose window would otherwise hold the clients' training.
        """
        self._last = self._sample()
        time.sleep(seconds)
        interval, self.interval = self.interval, 0.0
        try:
            return self.update()
        finally:
            self.interval = interval


def _set_threads(threads: int) -> None:
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def adaptive_threads(
    policy: str, device: torch.device, measure_first: bool = False
) -> Iterator[AdaptiveThreads | None]:
    """Adapt PyTorch's threads to the machine's load inside a ``with`` block.

    Parameters
    ----------
    policy : str
        The run config's ``thread-policy``: ``"adaptive"`` adapts, ``"fixed"``
        yields None and changes nothing.
    device : torch.device
        Where the work runs; only CPU work adapts.
    measure_first : bool
        Sample the load for 0.2 s before the block (for work that starts
        after an idle wait, such as an evaluation); otherwise the first
        :meth:`AdaptiveThreads.update` after ``interval`` seconds decides.

    Yields
    ------
    AdaptiveThreads or None
        The adapter, to be updated during the work; the thread count it
        started from is restored when the block ends.
    """
    if policy != "adaptive" or device.type != "cpu":
        yield None
        return
    threads = AdaptiveThreads(limit=torch.get_num_threads())
    if measure_first:
        threads.measure_now()
    try:
        yield threads
    finally:
        threads.restore()
