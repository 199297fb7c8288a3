"""The benchmarks run every family: ``benchmarks/train_speed.py`` times one training step of each, in
every preset it has, as ``python -m train`` runs it."""

import math

import pytest

from benchmarks.train_speed import PRESETS, make_step
from train.registry import trainers

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: tiny networks run on one thread


@pytest.mark.parametrize("family", sorted(trainers()))
def test_train_speed_runs_a_step_of_every_family(family):
    for preset in (p for p in PRESETS if p in trainers()[family].presets):
        step = make_step(family, preset, 32, ours=True, batch=2)
        stats = step.run()
        assert stats and all(math.isfinite(v) for v in stats.values()), (family, preset, stats)
