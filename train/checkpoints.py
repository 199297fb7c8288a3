"""A run's checkpoints: the training state beside the exported model, written atomically, and read back
to resume.

``training_state.pt`` holds the step, the hyper-parameters, every trained module's weights, the
optimizers, the EMA and the early-stopping record, as tensors and plain containers (read with
``weights_only=True``). The exported model (config.json + model.safetensors) is what the app loads.
"""

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import torch

from pizza_models.hub import CONFIG_NAME, atomic_torch_save, read_config, save_checkpoint

from .common import Setup
from .hyper import Hyper

STATE = "training_state.pt"
KEPT = "weights"  # the --keep-every copies of the exported weights, one folder per step


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


def saved_config(out: Path) -> Optional[dict]:
    """The config.json of the model a run in ``out`` exports (None when there is no run to resume)."""
    out = Path(out)
    return read_config(out) if (out / STATE).exists() and (out / CONFIG_NAME).exists() else None


def restore(setup: Setup, out: Path, hp: Hyper, device: torch.device) -> dict:
    """Load the training state saved in ``out`` into ``setup``: weights, optimizers and EMA; returns it.

    The learning rates of this command line win over the saved ones, so that "--resume --lr
    SMALLER" after a divergence does what it says. A state of another model is refused with the
    hyper-parameters that differ.
    """
    state = saved_state(out, device)
    try:
        for name, net in setup.nets.items():
            net.load_state_dict(state["nets"][name])
        for name, optimizer in setup.optimizers.items():
            lrs = [group["lr"] for group in optimizer.param_groups]
            optimizer.load_state_dict(state["optimizers"][name])
            for group, lr in zip(optimizer.param_groups, lrs):
                group["lr"] = lr
        if setup.ema is not None:
            setup.ema.load_state_dict(state["ema"])
    except (KeyError, RuntimeError, ValueError):
        raise SystemExit(f"--resume: {Path(out) / STATE} holds another model ({differences(state.get('hyper', {}), hp)}); "
                         "resume with the family, preset, size, method and channels it was trained with") from None
    return state


def differences(saved: dict, hp: Hyper) -> str:
    """The hyper-parameters of a saved run that differ from ``hp``, as "name saved -> now" (the run's
    length aside: a resumed run may be longer)."""
    now = asdict(hp)
    changed = [f"{k} {v!r} -> {now[k]!r}" for k, v in saved.items() if k in now and k != "steps" and now[k] != v]
    return ", ".join(changed) or "same hyper-parameters, other vocabulary"


class Checkpointer:
    """Saves a run into ``out`` (on the main process; every rank counts the step): the training state
    and the exported model, each atomically, the model in float16 with ``half``, and with
    ``keep_every`` a copy of every such step's model in ``out/weights/step_NNNNNN``."""

    def __init__(self, setup: Setup, hp: Hyper, out: Path, half: bool = False, keep_every: int = 0,
                 is_main: bool = True, last: int = 0):
        self.setup, self.hp, self.out, self.half, self.keep_every, self.is_main = setup, hp, Path(out), half, keep_every, is_main
        self.last = last  # the step of the last checkpoint (0: none yet)

    def due(self, step: int, every: int) -> bool:
        """Whether ``step`` is one to save at: a multiple of ``every`` or of ``keep_every``."""
        return step % every == 0 or bool(self.keep_every and step % self.keep_every == 0)

    def save(self, step: int, early_stopping: Optional[dict] = None) -> None:
        """The state at ``step`` (with the early-stopping record), then the exported model."""
        self.last = step
        if not self.is_main:
            return
        setup = self.setup
        atomic_torch_save({
            "step": step,
            "hyper": asdict(self.hp),
            "nets": {n: m.state_dict() for n, m in setup.nets.items()},
            "optimizers": {n: o.state_dict() for n, o in setup.optimizers.items()},
            **({"ema": setup.ema.state_dict()} if setup.ema is not None else {}),
            "early_stopping": early_stopping or {},
        }, self.out / STATE)
        model = setup.export()
        save_checkpoint(model, self.out, half=self.half)
        if self.keep_every and step % self.keep_every == 0:
            save_checkpoint(model, self.out / KEPT / f"step_{step:06d}", half=self.half)
