"""Where a run trains: its device, and under torchrun its rank, its process group and the
DistributedDataParallel wrappers of the modules it trains. Without torchrun every function here
is the identity of a world of one process."""

import math
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .common import Setup


def world() -> tuple[int, int]:
    """(rank, world size) under torchrun, (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def pick_device(name: str) -> torch.device:
    """``cpu`` (the default), ``cuda``, or ``auto`` (a GPU when there is one); one GPU per local rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA GPU is visible; use --device cpu")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(name)


def join(device: torch.device) -> None:
    """Join torchrun's process group (once), each rank with its share of the cores; nothing alone."""
    _, world_size = world()
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))


def wrap(setup: Setup, device: torch.device) -> dict[str, nn.Module]:
    """The modules the step calls, the trained ones in DistributedDataParallel when there are several
    processes (frozen ones, such as a teacher, as they are)."""
    modules = setup.modules()
    if world()[1] == 1:
        return modules
    ids = [device.index] if device.type == "cuda" else None
    return {name: DistributedDataParallel(net.to(device), device_ids=ids) if name not in setup.frozen else net
            for name, net in modules.items()}


def all_finite(stats: dict[str, float], device: torch.device) -> bool:
    """True when every loss is finite on every rank (all ranks must stop together)."""
    ok = torch.tensor(float(all(math.isfinite(v) for v in stats.values())), device=device)
    if dist.is_initialized():
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item())


def any_rank(flags: list[bool], device: torch.device) -> list[bool]:
    """Each flag OR-ed over all ranks (one all-reduce for all of them)."""
    if not dist.is_initialized():
        return flags
    tensor = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [bool(v) for v in tensor.tolist()]


def ranks_in_sync(setup: Setup, device: torch.device) -> bool:
    """Whether every rank holds the same weights (DDP keeps them identical; this checks it)."""
    total = torch.stack([p.detach().double().sum() for net in setup.nets.values() for p in net.parameters()]).to(device)
    gathered = [torch.zeros_like(total) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, total)
    return all(torch.allclose(g, gathered[0], rtol=0, atol=1e-6) for g in gathered)
