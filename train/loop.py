"""The training loop shared by every family: data, DistributedDataParallel, logging, samples,
atomic checkpoints, resume, Ctrl-C and NaN handling."""

import math
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterator, Optional

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler
from tqdm import tqdm

from pizza_models.accel import autocast, channels_last, use_bf16
from pizza_models.hub import atomic_torch_save, save_checkpoint
from pizza_models.recipe import MENU, Vocabulary, encode

from . import artifacts
from .families import Hyper, Setup, trainables

STATE = "training_state.pt"
VALIDATION = "validation.csv"
KEPT = "weights"  # the --keep-every copies of the exported weights, one folder per step


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


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


def batches(data: Dataset, batch_size: int, rank: int, world_size: int, seed: int, workers: int) -> Iterator:
    """Endless shuffled batches; under DDP each rank sees its own shard of every epoch."""
    if len(data) < batch_size * world_size:  # every batch would be dropped: an endless loop of nothing
        raise ValueError(f"{len(data)} training pizzas cannot fill one batch of {batch_size} per process; "
                         f"use more data or a smaller --batch-size")
    epoch = 0
    while True:
        if world_size > 1:
            sampler = DistributedSampler(data, world_size, rank, shuffle=True, seed=seed, drop_last=True)
            sampler.set_epoch(epoch)
        else:
            sampler = RandomSampler(data, generator=torch.Generator().manual_seed(seed + epoch))
        loader = DataLoader(data, batch_size=batch_size, sampler=sampler, drop_last=True, num_workers=workers,
                            persistent_workers=False, collate_fn=getattr(data, "collate", None))
        yield from loader
        epoch += 1


def grid_inputs(model: torch.nn.Module, vocabulary: Vocabulary, encoding: str, nrow: int = 8, rows: int = 4):
    """Fixed noise and fixed menu recipes for the progress grids: one recipe per column."""
    names = artifacts.grid_recipes(nrow)
    codes = torch.stack([encode(MENU[n], encoding, vocabulary) for n in names]).repeat(rows, 1)
    z = model.sample_latent(nrow * rows, generator=torch.Generator().manual_seed(0), device="cpu")
    return names, z, codes


def refuse_overwrite(out: Path, resume: bool) -> None:
    """Stop with a message when ``out`` already holds a run and ``resume`` is not set."""
    if (Path(out) / STATE).exists() and not resume:
        raise SystemExit(f"{out} already holds a run (step state in {Path(out) / STATE}); "
                         "pass --resume to continue it, or choose another --out")


def saved_state(out: Path, device: "torch.device | str" = "cpu") -> dict:
    """The training state saved in ``out`` (step, hyper-parameters, optimizers...; {} when there is none).

    Read with ``weights_only=True``: tensors and plain containers, never arbitrary pickled objects.
    """
    path = Path(out) / STATE
    return torch.load(path, map_location=device, weights_only=True) if path.exists() else {}


def saved_hyper(out: Path) -> dict:
    """The hyper-parameters a run in ``out`` was started with ({} when there is none to resume)."""
    return saved_state(out).get("hyper", {})


def steps_for(epochs: float, examples: int, batch_size: int, world_size: int) -> int:
    return max(1, math.ceil(epochs * examples / (batch_size * world_size)))


def run(
    setup: Setup,
    hp: Hyper,
    data: Dataset,
    out: Path,
    steps: int,
    *,
    resume: bool = False,
    device: str = "cpu",
    sample_every: int = 200,
    save_every: int = 500,
    keep_every: int = 0,
    workers: int = 0,
    seed: int = 0,
    command: str = "",
    progress: bool = True,
    precision: str = "auto",
    max_minutes: Optional[float] = None,
    half: bool = False,
    validation: Optional[Dataset] = None,
) -> Path:
    """Train ``setup`` on ``data`` for ``steps`` optimizer steps in total, writing into ``out``.

    With a ``validation`` set, ``setup.validate`` scores it after every epoch of ``data`` (a row of
    validation.csv), and the run stops early after ``hp.patience`` epochs without a better score.
    With ``keep_every``, the run also saves at every multiple of it, and those exported weights stay
    in ``out/weights/step_NNNNNN``: a long run that diverges late keeps its earlier good models.
    """
    rank, world_size = world()
    distributed = world_size > 1
    dev = pick_device(device)
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    torch.manual_seed(seed + rank)
    out = Path(out)
    state_path = out / STATE

    bf16 = use_bf16(dev, precision)
    for net in setup.nets.values():
        channels_last(net.to(dev)).train()
    if setup.ema is not None:
        setup.ema.to(dev)
    for net in setup.frozen.values():
        channels_last(net.to(dev)).eval()

    start, watch = 0, EarlyStopping(hp.patience)
    refuse_overwrite(out, resume)
    if resume and state_path.exists():
        state = saved_state(out, dev)
        try:
            for name, net in setup.nets.items():
                net.load_state_dict(state["nets"][name])
            for name, optimizer in setup.optimizers.items():
                # The learning rates of this command line win over the saved ones, so that
                # "--resume --lr SMALLER" after a divergence does what it says.
                lrs = [group["lr"] for group in optimizer.param_groups]
                optimizer.load_state_dict(state["optimizers"][name])
                for group, lr in zip(optimizer.param_groups, lrs):
                    group["lr"] = lr
            if setup.ema is not None:
                setup.ema.load_state_dict(state["ema"])
        except (KeyError, RuntimeError, ValueError):
            differences = _differences(state.get("hyper", {}), hp)
            raise SystemExit(f"--resume: {state_path} holds another model ({differences}); resume with the "
                             "family, preset, size, method and channels it was trained with") from None
        start = int(state["step"])
        watch = EarlyStopping(hp.patience, **state.get("early_stopping", {}))
        if rank == 0:
            print(f"resuming {out} at step {start}")

    nets = trainables(setup, hp)
    if distributed:
        ids = [dev.index] if dev.type == "cuda" else None
        nets = {name: DistributedDataParallel(net.to(dev), device_ids=ids) if name not in setup.frozen else net
                for name, net in nets.items()}

    is_main = rank == 0
    log = artifacts.LossLog(out / artifacts.LOSSES, start) if is_main else None
    val_log = artifacts.LossLog(out / VALIDATION, start) if is_main and validation is not None else None
    export = setup.export()
    encoding = getattr(export.config, "encoding", None)
    grid = grid_inputs(export, export.config.vocabulary, encoding) if encoding else None

    saved = [start]

    def save(step: int) -> None:
        saved.append(step)
        if not is_main:
            return
        atomic_torch_save({
            "step": step,
            "hyper": asdict(hp),
            "nets": {n: m.state_dict() for n, m in setup.nets.items()},
            "optimizers": {n: o.state_dict() for n, o in setup.optimizers.items()},
            **({"ema": setup.ema.state_dict()} if setup.ema is not None else {}),
            "early_stopping": watch.state(),
        }, state_path)
        model = setup.export()
        save_checkpoint(model, out, half=half)
        if keep_every and step % keep_every == 0:
            save_checkpoint(model, out / KEPT / f"step_{step:06d}", half=half)

    def draw(step: int) -> None:
        if not is_main or grid is None:
            return
        names, z, codes = grid
        image = artifacts.sample_grid(setup.export(), z.to(dev), codes.to(dev), nrow=len(names))
        artifacts.save_png(image, out / artifacts.SAMPLES / f"step_{step:06d}.png")
        artifacts.save_png(image, out / "samples.png")

    interrupted = []
    previous_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True)) if is_main else None
    stream = batches(data, hp.batch_size, rank, world_size, seed + start, workers)
    if is_main:
        print(f"training {hp.family} ({hp.preset} preset) into {out}, steps {start + 1} to {steps}")
    bar = tqdm(range(start + 1, steps + 1), initial=start, total=steps, disable=not (is_main and progress),
               desc=f"{hp.family}/{hp.preset}", dynamic_ncols=True)
    step, out_of_time, converged = start, False, False
    epoch_steps = max(1, len(data) // (hp.batch_size * world_size))
    epoch_losses: list[float] = []
    deadline = time.monotonic() + 60 * max_minutes if max_minutes else None
    try:
        for step in bar:
            x, code, *parts = next(stream)  # parts: a dict of the family's own targets, if any
            x = x.to(dev, memory_format=torch.channels_last)
            parts = [{k: v.to(dev) for k, v in p.items()} for p in parts]
            with autocast(dev, bf16):
                stats = setup.step(nets, setup.optimizers, x, code.to(dev), *parts, hp, ema=setup.ema)
            if not all_finite(stats, distributed, dev):
                # A divergence before the first save has no checkpoint to point to.
                kept = (f"The last good checkpoint (step {saved[-1]}) is kept in {out}; lower --lr, or --resume from it"
                        if saved[-1] else "No checkpoint was saved yet; lower --lr")
                raise TrainingDiverged(f"step {step}: a loss is not finite ({stats}); stopped. {kept}")
            if is_main:
                log.append(step, stats)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(stats.items())[:4]})
            if validation is not None:
                epoch_losses.append(stats)
            if validation is not None and step % epoch_steps == 0:
                scores = validate(setup, nets, validation, hp, dev, bf16)
                train_mean = {k: sum(s[k] for s in epoch_losses) / len(epoch_losses) for k in epoch_losses[-1]}
                epoch_losses = []
                converged = watch.update(scores["loss"])
                if is_main:
                    val_log.append(step, {"epoch": step // epoch_steps, **{f"train_{k}": v for k, v in train_mean.items()},
                                          **{f"val_{k}": v for k, v in scores.items()}})
                    if converged:
                        print(f"\nvalidation loss not better for {hp.patience} epochs: stopping at step {step}")
            # Every rank must stop at the same step: rank 0's Ctrl-C and any rank's clock are shared.
            stop, out_of_time = _any_rank([bool(interrupted), converged or (deadline is not None and time.monotonic() > deadline)],
                                          distributed, dev)
            last = step == steps or out_of_time
            if step % sample_every == 0 or last:
                draw(step)
            if step % save_every == 0 or (keep_every and step % keep_every == 0) or last or stop:
                save(step)
            if stop or out_of_time:
                bar.update(1)  # the bar counts a step when the next begins: count the last one too
            if stop:
                if is_main:
                    print(f"\ninterrupted: saved step {step} in {out}; continue with --resume")
                break
            if out_of_time:
                if is_main and not converged:
                    print(f"\ntime budget of {max_minutes:g} min reached: saved step {step} in {out}")
                break
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
        bar.close()

    if distributed:
        in_sync = ranks_in_sync(setup, dev)
        if is_main:
            (out / "ddp.json").write_text(f'{{"world_size": {world_size}, "ranks_in_sync": {str(in_sync).lower()}, "step": {step}}}\n')
    if is_main and (step == steps or out_of_time):
        artifacts.progress_gif(out / artifacts.SAMPLES, out / "progress.gif")
        artifacts.loss_curve(out / artifacts.LOSSES, out / "losses.png")
        artifacts.write_model_card(out, hp, command, steps=step)
        if step == steps:
            print(f"finished: saved step {step} in {out}")
    if interrupted:
        sys.exit(130)
    return out


class EarlyStopping:
    """Keras' EarlyStopping on a validation loss: done after ``patience`` epochs without a new best."""

    def __init__(self, patience: int, best: float = math.inf, bad_epochs: int = 0):
        self.patience, self.best, self.bad_epochs = patience, best, bad_epochs

    def update(self, loss: float) -> bool:
        """Record one epoch's validation loss; True when training should stop."""
        if loss < self.best:
            self.best, self.bad_epochs = loss, 0
        else:
            self.bad_epochs += 1
        return bool(self.patience) and self.bad_epochs >= self.patience

    def state(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}


def validate(setup: Setup, nets: dict, data: Dataset, hp: Hyper, device: torch.device, bf16: bool) -> dict[str, float]:
    """``setup.validate``'s losses averaged over ``data`` (weighted by batch size), in the order of the data."""
    totals: dict[str, float] = {}
    for x, code in DataLoader(data, batch_size=hp.batch_size):
        x = x.to(device, memory_format=torch.channels_last)
        with autocast(device, bf16):
            scores = setup.validate(nets, x, code.to(device), hp)
        for k, v in scores.items():
            totals[k] = totals.get(k, 0.0) + v * len(x)
    return {k: v / len(data) for k, v in totals.items()}


def _differences(saved: dict, hp: Hyper) -> str:
    """The hyper-parameters of a saved run that differ from ``hp``, as "name saved -> now" (the run's
    length aside: a resumed run may be longer)."""
    now = asdict(hp)
    changed = [f"{k} {v!r} -> {now[k]!r}" for k, v in saved.items() if k in now and k != "steps" and now[k] != v]
    return ", ".join(changed) or "same hyper-parameters, other vocabulary"


def all_finite(stats: dict[str, float], distributed: bool, device: torch.device) -> bool:
    """True when every loss is finite on every rank (all ranks must stop together)."""
    ok = torch.tensor(float(all(math.isfinite(v) for v in stats.values())), device=device)
    if distributed:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item())


def _any_rank(flags: list[bool], distributed: bool, device: torch.device) -> list[bool]:
    """Each flag OR-ed over all ranks (one all-reduce for all of them)."""
    if not distributed:
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
