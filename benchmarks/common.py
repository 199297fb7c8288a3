"""Helpers shared by the benchmarks: what machine they ran on, timing, and Markdown tables.

torch is imported inside the functions that need it, so that a benchmark which only renders
pizzas (kitchen_speed.py) does not pay for importing it.
"""

import os
import statistics
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or "unknown CPU"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow), not the host's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine() -> str:
    """One Markdown line naming the CPU, cores, torch version and threads, and whether bf16 is native."""
    import torch

    from pizza_models.accel import cpu_has_bf16

    bf16 = "native (avx512_bf16/amx)" if cpu_has_bf16() else "emulated (no avx512_bf16/amx)"
    load = ""
    if hasattr(os, "getloadavg"):
        # A busy machine slows every row; the load average makes that visible next to the numbers.
        load = f"; load average {os.getloadavg()[0]:.2f}"
    return (f"**Machine:** {cpu_model()}; {usable_cores()} usable cores; torch {torch.__version__} "
            f"(threads: {torch.get_num_threads()}); bf16 {bf16}{load}")


def time_calls(fn: Callable[[], object], n: int, warmup: int = 0) -> list[float]:
    """Seconds taken by each of ``n`` calls of ``fn`` after ``warmup`` untimed ones.

    Each call is timed on its own (rather than the total) so the median can discard the
    occasional call that a garbage collection or another process on the machine slowed down.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def interleaved_medians(fns: Sequence[Callable[[], object]], n: int, warmup: int, block: int = 5) -> list[float]:
    """Median seconds per call of each of ``fns``, timed in alternating blocks of ``block`` calls.

    Alternating the contenders spreads any slow period of a shared machine over all of them,
    so a ratio of two medians is fairer than timing one contender after the other.
    """
    for fn in fns:
        time_calls(fn, 0, warmup)
    times: list[list[float]] = [[] for _ in fns]
    done = 0
    while done < n:
        k = min(block, n - done)
        for fn, t in zip(fns, times):
            t.extend(time_calls(fn, k))
        done += k
    return [statistics.median(t) for t in times]


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; numbers are expected already formatted as strings."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
