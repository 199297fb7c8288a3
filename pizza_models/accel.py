"""What makes these small conv nets fast on a CPU: bfloat16 autocast and channels-last memory.

Measured on a 2-core AMD EPYC with avx512_bf16 (benchmarks/train_speed.py): bf16 autocast with
channels-last runs a conv training step several times faster than float32. On CPUs without
native bf16 instructions bf16 is emulated and far slower, so it is only used where supported.
"""

import contextlib
from functools import lru_cache

import torch
from torch import nn


@lru_cache(maxsize=None)
def cpu_has_bf16() -> bool:
    """Whether this CPU executes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def use_bf16(device: torch.device, precision: str = "auto") -> bool:
    """Resolve ``precision`` ("auto", "bf16" or "fp32") for ``device``."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on ``device`` when ``enabled``; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def channels_last(module: nn.Module) -> nn.Module:
    """The module with its 4-d weights in channels-last layout (inputs follow on their own)."""
    return module.to(memory_format=torch.channels_last)
