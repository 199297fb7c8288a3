"""The training loop's pieces, each alone: a step's updates, restore, the checkpointer, the stop
control and the distributed wrapping (the loop as a whole runs in tests/test_train.py)."""

import os
import signal
import time

import pytest
import torch
from torch import nn

from pizza_models.pipeline import load
from pizza_models.recipe import DEFAULT_VOCABULARY
from train import distributed
from train.checkpoints import KEPT, STATE, Checkpointer, restore, saved_state
from train.common import Batch, Setup, Update, ema_model
from train.loop import StopControl, train_step
from train.registry import build, hyper

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


@pytest.fixture
def gan():
    torch.manual_seed(0)
    hp = hyper("gan", "modern", 32, channels=8, batch_size=2)
    return hp, build(hp, DEFAULT_VOCABULARY)


def test_a_step_yields_its_updates_and_the_loop_applies_them_in_order_then_the_ema():
    a, b = nn.Linear(2, 1), nn.Linear(2, 1)
    optimizers = {"a": torch.optim.SGD(a.parameters(), lr=0.1), "b": torch.optim.SGD(b.parameters(), lr=0.1)}
    seen = []

    def step(nets, batch, hp):
        loss_a = nets["a"](batch.x).pow(2).mean()
        yield Update("a", loss_a, {"a": loss_a})
        seen.append(a.weight.detach().clone())  # b's loss is computed after a's update
        loss_b = (nets["b"](batch.x) - nets["a"](batch.x).detach()).pow(2).mean()
        yield Update("b", loss_b, {"b": loss_b})

    ema = ema_model(a, 0.5)
    setup = Setup({"a": a, "b": b}, optimizers, step, lambda: a, ema, a)
    before = a.weight.detach().clone()
    logs = train_step(setup, setup.modules(), Batch(torch.ones(4, 2), torch.zeros(4, 1)), None, CPU)
    assert set(logs) == {"a", "b"} and all(isinstance(v, float) for v in logs.values())
    assert not torch.equal(seen[0], before) and torch.equal(seen[0], a.weight)
    assert torch.equal(ema.module.weight, a.weight)  # the first EMA update copies the weights
    assert a.weight.grad is not None and b.weight.grad is not None


def test_the_checkpointer_saves_the_state_and_the_model_and_keeps_every_nth(gan, tmp_path):
    hp, setup = gan
    checkpoints = Checkpointer(setup, hp, tmp_path, keep_every=2)
    assert not checkpoints.due(1, 5) and checkpoints.due(2, 5) and checkpoints.due(5, 5)
    checkpoints.save(2, {"best": 1.0, "bad_epochs": 0})
    state = saved_state(tmp_path)
    assert state["step"] == 2 and state["hyper"]["family"] == "gan" and set(state["nets"]) == {"G", "D"}
    assert checkpoints.last == 2 and (tmp_path / KEPT / "step_000002" / "model.safetensors").is_file()
    assert type(load(tmp_path)) is type(setup.export())


def test_a_checkpointer_off_the_main_process_counts_but_writes_nothing(gan, tmp_path):
    hp, setup = gan
    checkpoints = Checkpointer(setup, hp, tmp_path, is_main=False)
    checkpoints.save(3)
    assert checkpoints.last == 3 and not list(tmp_path.iterdir())


def test_restore_loads_weights_and_optimizers_at_the_new_learning_rate(gan, tmp_path):
    hp, setup = gan
    Checkpointer(setup, hp, tmp_path).save(7)
    torch.manual_seed(1)
    again = build(hyper("gan", "modern", 32, channels=8, batch_size=2, lr=1e-5), DEFAULT_VOCABULARY)
    state = restore(again, tmp_path, hp, CPU)
    assert state["step"] == 7
    assert all(torch.equal(p, q) for p, q in zip(setup.nets["G"].parameters(), again.nets["G"].parameters()))
    assert again.optimizers["G"].param_groups[0]["lr"] == 1e-5


def test_restore_refuses_another_model_naming_the_difference(gan, tmp_path):
    hp, setup = gan
    Checkpointer(setup, hp, tmp_path).save(1)
    wider = hyper("gan", "modern", 32, channels=16, batch_size=2)
    with pytest.raises(SystemExit, match="channels 8 -> 16"):
        restore(build(wider, DEFAULT_VOCABULARY), tmp_path, wider, CPU)
    assert (tmp_path / STATE).is_file()


def test_stop_control_stops_on_its_budget_or_convergence_and_catches_ctrl_c_inside_only():
    before = signal.getsignal(signal.SIGINT)  # Python's own handler, or SIG_IGN in a job started in the background
    with StopControl(None, CPU) as stop:
        assert stop.check() == (False, False) and stop.check(converged=True) == (False, True)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert stop.check() == (True, False)
    assert signal.getsignal(signal.SIGINT) is before
    with StopControl(1e-6, CPU) as stop:
        time.sleep(0.01)
        assert stop.check() == (False, True)


def test_alone_the_distributed_wrapping_is_the_modules_the_step_calls(gan):
    _, setup = gan
    assert distributed.world() == (0, 1)
    assert distributed.wrap(setup, CPU) == setup.modules()
    assert distributed.all_finite({"loss": 1.0}, CPU) and not distributed.all_finite({"loss": float("nan")}, CPU)
    assert distributed.any_rank([True, False], CPU) == [True, False]
