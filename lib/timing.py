"""Timing helpers: warm up, repeat, synchronise around CUDA work, report the median and spread."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from lib.progress import bar


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs of one piece of work."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def iqr(self) -> tuple[float, float]:
        """First and third quartile (equal to min and max for fewer than four runs)."""
        if len(self.times) < 4:
            return min(self.times), max(self.times)
        q = statistics.quantiles(self.times, n=4, method="inclusive")
        return q[0], q[2]


def synchronize(device: str | torch.device) -> None:
    """Wait for queued CUDA work, so that a timer measures the work and not its launch."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


SLOW_REPEATS = 3  # timed runs for work that is clearly too slow to matter (see ``slow_s``)


def measure(
    fn: Callable[[], object], repeats: int = 5, warmup: int = 1, device: str = "cpu", slow_s: float | None = None
) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed, synchronising each run.

    With ``slow_s``, work whose warm-up alone takes longer than that gets only ``SLOW_REPEATS`` timed
    runs: a configuration 100x slower than the alternatives needs no five-run median to show it.
    """
    _check_runs(repeats, warmup)
    start = time.perf_counter()
    for _ in range(warmup):
        fn()
    synchronize(device)
    if slow_s is not None and warmup and (time.perf_counter() - start) / warmup > slow_s:
        repeats = min(repeats, SLOW_REPEATS)
    return Timing([_seconds(fn, device) for _ in range(repeats)])


def measure_interleaved(
    works: dict[object, Callable[[], object]], repeats: int = 5, warmup: int = 1, device: str = "cpu",
    desc: str | None = None, lead_in: int = 0,
) -> dict[object, Timing]:  # fmt: skip
    """``measure`` for several pieces of work at once, in rounds: every round runs each piece once.

    On a shared machine whose speed drifts over minutes, a drift then touches every piece alike, so
    ratios between them (a model against a baseline, a model against the matrix-multiply peak) hold up
    better than when each piece is timed in one block. ``desc`` shows a progress bar over the rounds.
    ``lead_in`` untimed runs of the same piece precede each timed run, so that no piece inherits the state the
    one before it left: torch's OpenMP workers spin for several milliseconds after each parallel operation, on
    the cores the next piece needs, and caches hold the last piece's data."""
    _check_runs(repeats, warmup)
    times: dict[object, list[float]] = {key: [] for key in works}
    for r in bar(range(warmup + repeats), desc=desc, unit="round", disable=desc is None):
        for key, fn in works.items():
            for _ in range(lead_in if r >= warmup else 0):
                fn()
            seconds = _seconds(fn, device)
            if r >= warmup:
                times[key].append(seconds)
    return {key: Timing(t) for key, t in times.items()}


def _check_runs(repeats: int, warmup: int) -> None:
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")


def _seconds(fn: Callable[[], object], device: str) -> float:
    """Wall-clock seconds of one run of ``fn``, its CUDA work included."""
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start
