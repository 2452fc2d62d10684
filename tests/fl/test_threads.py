import os
import sys
import time

import pytest
import torch

from fedvideo.fl.threads import (
    _TICKS,
    AdaptiveThreads,
    CpuSample,
    _machine_busy_seconds,
    _own_seconds,
    adaptive_threads,
    others_busy_cores,
    read_cpu_sample,
    threads_for_load,
)


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_threads_for_load_gives_a_core_back_once_others_hold_half_of_one():
    assert threads_for_load(2, 2, 0.0) == 2
    assert threads_for_load(2, 2, 0.3) == 2  # background noise (Ray's own processes)
    assert threads_for_load(2, 2, 0.67) == 1  # a busy process sharing with 2 spinners
    assert threads_for_load(2, 2, 1.0) == 1
    assert threads_for_load(2, 2, 2.0) == 1  # never below one thread
    assert threads_for_load(1, 8, 0.0) == 1  # never above the limit
    assert threads_for_load(8, 8, 2.7) == 5
    with pytest.raises(ValueError, match="limit"):
        threads_for_load(0, 2, 0.0)


def test_others_busy_cores_subtracts_this_process():
    before = CpuSample(wall=10.0, machine_busy=100.0, own=20.0)
    # in 2 s the machine was busy 3 core-seconds, 1.6 of them this process
    after = CpuSample(wall=12.0, machine_busy=103.0, own=21.6)
    assert others_busy_cores(before, after) == pytest.approx(0.7)
    # counters read at slightly different moments never give a negative load
    own_ahead = CpuSample(wall=12.0, machine_busy=101.0, own=21.6)
    assert others_busy_cores(before, own_ahead) == 0.0
    with pytest.raises(ValueError, match="after"):
        others_busy_cores(after, before)


def test_proc_lines_are_parsed():
    # user nice system idle iowait irq softirq steal guest guest_nice
    line = "cpu  100 5 50 1000 40 3 2 0 7 0\n"
    assert _machine_busy_seconds(line) == pytest.approx(160 / _TICKS)
    # a command name with spaces and a closing parenthesis
    fields = ["S", "1", "1", "1", "0", "-1", "0", "0", "0", "0", "0", "30", "12"]
    stat = "4242 (odd) name) " + " ".join(fields + ["0"] * 40)
    assert _own_seconds(stat) == pytest.approx(42 / _TICKS)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_read_cpu_sample_counts_this_process_work():
    first = read_cpu_sample()
    end = time.monotonic() + 0.1
    while time.monotonic() < end:  # 0.1 s of work: ten clock ticks on an idle core
        pass
    second = read_cpu_sample()
    assert first is not None and second is not None
    assert second.own > first.own and second.machine_busy >= first.machine_busy
    assert second.wall > first.wall


class _Clock:
    """Samples whose counters the test moves by hand."""

    def __init__(self):
        self.now = CpuSample(wall=0.0, machine_busy=0.0, own=0.0)

    def advance(self, seconds: float, own: float, others: float) -> None:
        self.now = CpuSample(
            wall=self.now.wall + seconds,
            machine_busy=self.now.machine_busy + own + others,
            own=self.now.own + own,
        )

    def __call__(self) -> CpuSample:
        return self.now


def test_adaptive_threads_follow_the_others_load(restore_threads):
    clock = _Clock()
    threads = AdaptiveThreads(limit=2, interval=2.0, cpu_count=2, sample=clock)
    assert threads.update() == 2 and torch.get_num_threads() == 2
    clock.advance(1.0, own=2.0, others=0.7)  # not yet the interval: no change
    assert threads.update() == 2
    clock.advance(1.0, own=1.3, others=0.7)  # 1.4 others' core-seconds in 2 s
    assert threads.update() == 1 and torch.get_num_threads() == 1
    clock.advance(2.0, own=2.0, others=2.0)  # the neighbour keeps its core
    assert threads.update() == 1
    clock.advance(2.0, own=3.8, others=0.1)  # it has gone
    assert threads.update() == 2 and torch.get_num_threads() == 2
    assert threads.changes == 2
    clock.advance(2.0, own=1.0, others=1.0)
    threads.update()
    threads.restore()
    assert threads.threads == 2 and torch.get_num_threads() == 2


def test_adaptive_threads_keep_the_limit_without_proc(restore_threads):
    threads = AdaptiveThreads(limit=2, interval=0.0, cpu_count=2, sample=lambda: None)
    assert threads.update() == 2 and threads.measure_now(0.0) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_measure_now_samples_the_load_at_once(restore_threads):
    threads = AdaptiveThreads(limit=1, interval=60.0, cpu_count=os.cpu_count())
    assert threads.measure_now(0.05) == 1
    assert threads.interval == 60.0


def test_adaptive_threads_context_only_adapts_cpu_work_and_restores(restore_threads):
    cpu = torch.device("cpu")
    torch.set_num_threads(2)
    with adaptive_threads("fixed", cpu) as threads:
        assert threads is None
    with adaptive_threads("adaptive", torch.device("cuda")) as threads:
        assert threads is None
    with adaptive_threads("adaptive", cpu, measure_first=True) as threads:
        assert threads.limit == 2 and threads.threads in (1, 2)  # the load decides
        torch.set_num_threads(1)  # as an update on a busy machine would
    assert torch.get_num_threads() == 2
