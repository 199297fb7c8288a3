"""The training loop shared by every family.

``run`` puts together what each piece here does alone: ``train_step`` (the family's updates under
autocast, then the EMA), ``checkpoints.restore`` and ``checkpoints.Checkpointer`` (resume; atomic
saves), ``distributed.wrap`` (DistributedDataParallel), ``StopControl`` (Ctrl-C, the time budget,
early stopping, the same step on every rank), ``EpochValidation`` and the progress grids.
"""

import math
import signal
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler
from tqdm import tqdm

from pizza_models.accel import autocast, channels_last, use_bf16
from pizza_models.menu import MENU
from pizza_models.recipe import encode

from . import artifacts, distributed
from .checkpoints import STATE, Checkpointer, refuse_overwrite, restore
from .common import Batch, Setup
from .hyper import Hyper

VALIDATION = "validation.csv"


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def train_step(setup: Setup, nets: dict, batch: Batch, hp: Hyper, device: torch.device, bf16: bool = False) -> dict[str, float]:
    """One training step: every update the family's step yields (zero_grad, backward, optimizer
    step, in its order), then the EMA. Returns what the updates log, as floats."""
    logs = {}
    with autocast(device, bf16):
        for update in setup.step(nets, batch, hp):
            optimizer = setup.optimizers[update.optimizer]
            optimizer.zero_grad(set_to_none=True)
            if update.loss.requires_grad:  # not so where --train-only froze every weight it reaches
                update.loss.backward()
                optimizer.step()
            logs.update((name, value.detach() if torch.is_tensor(value) else value) for name, value in update.logs.items())
    if setup.ema is not None:
        setup.ema.update_parameters(setup.averaged)
    return {name: float(value) for name, value in logs.items()}


def on_device(batch, device: torch.device) -> Batch:
    """A loader's batch (x, code[, parts]) as a ``Batch`` on ``device``, pictures channels-last."""
    x, code, *parts = batch
    parts = {k: v.to(device) for k, v in parts[0].items()} if parts else {}
    return Batch(x.to(device, memory_format=torch.channels_last), code.to(device), parts)


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


def steps_for(epochs: float, examples: int, batch_size: int, world_size: int) -> int:
    """Optimizer steps in ``epochs`` passes over ``examples`` by every process."""
    return max(1, math.ceil(epochs * examples / (batch_size * world_size)))


class StopControl:
    """When a run stops before its last step: Ctrl-C (caught on the main process, which saves and
    exits 130), its time budget, or early stopping. Every rank stops at the same step.

    A context manager: Ctrl-C is caught inside the block only."""

    def __init__(self, max_minutes: Optional[float], device: torch.device, catch_interrupt: bool = True):
        self.deadline = time.monotonic() + 60 * max_minutes if max_minutes else None
        self.device, self.catch_interrupt, self.interrupted = device, catch_interrupt, False
        self._handler = None

    def __enter__(self) -> "StopControl":
        if self.catch_interrupt:
            self._handler = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc) -> None:
        if self._handler is not None:
            signal.signal(signal.SIGINT, self._handler)

    def _interrupt(self, *_) -> None:
        self.interrupted = True

    def check(self, converged: bool = False) -> tuple[bool, bool]:
        """(interrupted, done early) after a step: Ctrl-C on any rank; the budget spent or converged on any."""
        late = self.deadline is not None and time.monotonic() > self.deadline
        interrupted, done = distributed.any_rank([self.interrupted, converged or late], self.device)
        self.interrupted = interrupted
        return interrupted, done


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
    for batch in DataLoader(data, batch_size=hp.batch_size):
        batch = on_device(batch, device)
        with autocast(device, bf16):
            scores = setup.validate(nets, batch, hp)
        for k, v in scores.items():
            totals[k] = totals.get(k, 0.0) + v * len(batch.x)
    return {k: v / len(data) for k, v in totals.items()}


class EpochValidation:
    """After every epoch of training steps, the validation set's losses beside the epoch's mean
    training losses (a row of validation.csv, on the main process), and whether to stop early."""

    def __init__(self, setup: Setup, data: Dataset, hp: Hyper, watch: EarlyStopping, epoch_steps: int,
                 log: Optional[artifacts.LossLog], device: torch.device, bf16: bool):
        self.setup, self.data, self.hp, self.watch, self.epoch_steps = setup, data, hp, watch, epoch_steps
        self.log, self.device, self.bf16, self.losses = log, device, bf16, []

    def after(self, step: int, stats: dict[str, float], nets: dict) -> bool:
        """Record a step's losses; at the end of an epoch validate. True when the run should stop."""
        self.losses.append(stats)
        if step % self.epoch_steps:
            return False
        scores = validate(self.setup, nets, self.data, self.hp, self.device, self.bf16)
        train = {k: sum(s[k] for s in self.losses) / len(self.losses) for k in self.losses[-1]}
        self.losses = []
        converged = self.watch.update(scores["loss"])
        if self.log is not None:
            self.log.append(step, {"epoch": step // self.epoch_steps, **{f"train_{k}": v for k, v in train.items()},
                                   **{f"val_{k}": v for k, v in scores.items()}})
            if converged:
                print(f"\nvalidation loss not better for {self.hp.patience} epochs: stopping at step {step}")
        return converged


def grid_inputs(model, nrow: int = 8, rows: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed noise (rows * nrow, latent) and fixed menu recipes for progress grids, one recipe per column."""
    config = model.config
    codes = torch.stack([encode(MENU[n], config.encoding, config.vocabulary) for n in artifacts.grid_recipes(nrow)])
    z = model.sample_latent(nrow * rows, generator=torch.Generator().manual_seed(0), device="cpu")
    return z, codes.repeat(rows, 1)


class ProgressGrids:
    """The sample grids of a run, ``grid_inputs`` drawn by the exported model: ``samples/step_N.png``
    and ``samples.png``, the latest (main process, families that draw)."""

    def __init__(self, setup: Setup, out: Path, device: torch.device, is_main: bool, nrow: int = 8):
        model = setup.export()
        self.setup, self.out, self.nrow = setup, out, nrow
        self.on = is_main and getattr(model, "draws", False) and hasattr(model.config, "encoding")
        if self.on:
            self.z, self.codes = (t.to(device) for t in grid_inputs(model, nrow))

    def draw(self, step: int) -> None:
        if self.on:
            image = artifacts.sample_grid(self.setup.export(), self.z, self.codes, nrow=self.nrow)
            artifacts.save_png(image, self.out / artifacts.SAMPLES / f"step_{step:06d}.png")
            artifacts.save_png(image, self.out / "samples.png")


def prepare(setup: Setup, device: torch.device) -> None:
    """Every module on ``device``, channels-last; the trained ones in training mode, the frozen in eval."""
    for net in setup.nets.values():
        channels_last(net.to(device)).train()
    if setup.ema is not None:
        setup.ema.to(device)
    for net in setup.frozen.values():
        channels_last(net.to(device)).eval()


def run(setup: Setup, hp: Hyper, data: Dataset, out: Path, steps: int, *, resume: bool = False, device: str = "cpu",
        sample_every: int = 200, save_every: int = 500, keep_every: int = 0, workers: int = 0, seed: int = 0,
        command: str = "", progress: bool = True, precision: str = "auto", max_minutes: Optional[float] = None,
        half: bool = False, validation: Optional[Dataset] = None) -> Path:
    """Train ``setup`` on ``data`` for ``steps`` optimizer steps in total, writing into ``out``.

    With a ``validation`` set, ``setup.validate`` scores it after every epoch of ``data`` (a row of
    validation.csv), and the run stops early after ``hp.patience`` epochs without a better score.
    With ``keep_every``, the run also saves at every multiple of it, and those exported weights stay
    in ``out/weights/step_NNNNNN``: a long run that diverges late keeps its earlier good models.
    """
    (rank, world_size), dev, out = distributed.world(), distributed.pick_device(device), Path(out)
    distributed.join(dev)
    torch.manual_seed(seed + rank)
    is_main, bf16 = rank == 0, use_bf16(dev, precision)
    refuse_overwrite(out, resume)
    prepare(setup, dev)
    state = restore(setup, out, hp, dev) if resume and (out / STATE).exists() else {}
    start, watch = int(state.get("step", 0)), EarlyStopping(getattr(hp, "patience", 0), **state.get("early_stopping", {}))
    if start and is_main:
        print(f"resuming {out} at step {start}")
    nets, grids = distributed.wrap(setup, dev), ProgressGrids(setup, out, dev, is_main)
    checkpoints = Checkpointer(setup, hp, out, half, keep_every, is_main, last=start)
    log = artifacts.LossLog(out / artifacts.LOSSES, start) if is_main else None
    epochs = None if validation is None else EpochValidation(
        setup, validation, hp, watch, max(1, len(data) // (hp.batch_size * world_size)),
        artifacts.LossLog(out / VALIDATION, start) if is_main else None, dev, bf16)
    stream = batches(data, hp.batch_size, rank, world_size, seed + start, workers)
    if is_main:
        print(f"training {hp.family} ({hp.preset} preset) into {out}, steps {start + 1} to {steps}")
    step, done = start, False
    with StopControl(max_minutes, dev, catch_interrupt=is_main) as stop, tqdm(
            range(start + 1, steps + 1), initial=start, total=steps, disable=not (is_main and progress),
            desc=f"{hp.family}/{hp.preset}", dynamic_ncols=True) as bar:
        for step in bar:
            stats = train_step(setup, nets, on_device(next(stream), dev), hp, dev, bf16)
            if not distributed.all_finite(stats, dev):
                raise TrainingDiverged(diverged(step, stats, checkpoints.last, out))
            if is_main:
                log.append(step, stats)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(stats.items())[:4]})
            converged = epochs is not None and epochs.after(step, stats, nets)
            interrupted, done = stop.check(converged)
            if step % sample_every == 0 or step == steps or done:
                grids.draw(step)
            if checkpoints.due(step, save_every) or step == steps or done or interrupted:
                checkpoints.save(step, watch.state())
            if interrupted or done:
                bar.update(1)  # the bar counts a step when the next begins: count the last one too
                stopped(step, out, interrupted, done and not converged, max_minutes, is_main)
                break
    finish(setup, hp, out, step, steps, done, command, dev, is_main)
    if stop.interrupted:
        sys.exit(130)
    return out


def diverged(step: int, stats: dict[str, float], last_saved: int, out: Path) -> str:
    """What a run that diverged at ``step`` says: where its last good checkpoint is, if it has one."""
    kept = (f"The last good checkpoint (step {last_saved}) is kept in {out}; lower --lr, or --resume from it"
            if last_saved else "No checkpoint was saved yet; lower --lr")
    return f"step {step}: a loss is not finite ({stats}); stopped. {kept}"


def stopped(step: int, out: Path, interrupted: bool, out_of_time: bool, max_minutes, is_main: bool) -> None:
    """Say why a run stopped early and where it saved."""
    if is_main and interrupted:
        print(f"\ninterrupted: saved step {step} in {out}; continue with --resume")
    elif is_main and out_of_time and max_minutes:
        print(f"\ntime budget of {max_minutes:g} min reached: saved step {step} in {out}")


def finish(setup: Setup, hp: Hyper, out: Path, step: int, steps: int, done: bool, command: str,
           device: torch.device, is_main: bool) -> None:
    """A finished run's last files: the ranks' agreement under DDP, the progress GIF, the loss curve, the card."""
    if distributed.world()[1] > 1:
        in_sync = distributed.ranks_in_sync(setup, device)
        if is_main:
            (out / "ddp.json").write_text(f'{{"world_size": {distributed.world()[1]}, "ranks_in_sync": '
                                          f'{str(in_sync).lower()}, "step": {step}}}\n')
    if is_main and (step == steps or done):
        artifacts.progress_gif(out / artifacts.SAMPLES, out / "progress.gif")
        artifacts.loss_curve(out / artifacts.LOSSES, out / "losses.png")
        artifacts.write_model_card(out, hp, command, steps=step)
        if step == steps:
            print(f"finished: saved step {step} in {out}")
