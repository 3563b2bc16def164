"""Extending a run: resume with more epochs, for every schedule (see ttnet.train.schedules).

* constant, step and a cosine with a fixed horizon: the extended run is bit-identical to an
  uninterrupted run of the new length;
* a cosine whose horizon grows with the run (``ttnet train --resume --epochs N``): the run is
  re-planned at the resumed epoch. It is bit-identical to an uninterrupted run that follows the
  old cosine up to that epoch and the new one after it, and deliberately differs from an
  uninterrupted cosine run of the new length (its first epochs decayed more slowly).
"""

import json

import numpy as np
import pytest

import ttnet.data as ttdata
from ttnet.experiments import RunConfig, train
from ttnet.train import (ConstantLR, CosineLR, RunDirectoryError, Schedule, StepLR,
                         load_checkpoint)

from .test_trainer import TEST, TRAIN, assert_same_run, checkpoint_arrays, make_trainer


def run(out, epochs, schedule, resume=False, log=None):
    trainer = make_trainer(out, epochs=epochs, schedule=schedule, resume=resume, plot=False,
                           log=log)
    trainer.fit(*TRAIN, *TEST)
    return trainer


class Replanned(Schedule):
    """CosineLR(lr, first) before epoch ``at`` and CosineLR(lr, second) from it."""

    def __init__(self, lr, first, second, at):
        self.lr, self.at = lr, at
        self.before, self.after = CosineLR(lr, first), CosineLR(lr, second)

    def lr_at(self, epoch):
        return (self.before if epoch < self.at else self.after).lr_at(epoch)

    def config(self):
        return {"type": "Replanned", "at": self.at}


@pytest.mark.parametrize("schedule", [ConstantLR(0.05), StepLR(0.1, step_epochs=2, gamma=0.5),
                                      CosineLR(0.1, total_epochs=4)],
                         ids=["constant", "step", "cosine-fixed-horizon"])
def test_extending_equals_the_longer_run_when_the_schedule_ignores_the_length(tmp_path, schedule):
    run(tmp_path / "whole", 4, schedule)
    run(tmp_path / "parts", 2, schedule)
    run(tmp_path / "parts", 4, schedule, resume=True)
    assert_same_run(tmp_path / "whole" / "last.npz", tmp_path / "parts" / "last.npz")
    assert "replanned" not in load_checkpoint(tmp_path / "parts" / "last.npz").config


def test_extending_a_cosine_run_replans_it_from_the_resumed_epoch(tmp_path):
    lines = []
    run(tmp_path / "extended", 2, CosineLR(0.1, 2))
    extended = run(tmp_path / "extended", 4, CosineLR(0.1, 4), resume=True, log=lines.append)
    assert any(line.startswith("re-planned the learning-rate schedule from epoch 3 on: "
                               '{"type": "CosineLR", "lr": 0.1, "total_epochs": 2, '
                               '"min_lr": 0.0} -> {"type": "CosineLR", "lr": 0.1, '
                               '"total_epochs": 4, "min_lr": 0.0}') for line in lines), lines

    # the learning rates: epochs 1-2 of the 2-epoch cosine, epochs 3-4 of the 4-epoch one
    two, four = CosineLR(0.1, 2), CosineLR(0.1, 4)
    assert [row["lr"] for row in extended.history] == [two(0), two(1), four(2), four(3)]
    config = load_checkpoint(tmp_path / "extended" / "last.npz").config
    assert config["schedule"]["total_epochs"] == 4
    assert config["replanned"] == [{"at_epoch": 2, "previous_schedule": two.config()}]
    saved = json.loads((tmp_path / "extended" / "config.json").read_text())["run"]
    assert saved["replanned"] == config["replanned"]

    # equal, bit for bit, to an uninterrupted run with that piecewise rate ...
    run(tmp_path / "piecewise", 4, Replanned(0.1, 2, 4, at=2))
    assert_same_run(tmp_path / "piecewise" / "last.npz", tmp_path / "extended" / "last.npz")
    # ... and different from an uninterrupted 4-epoch cosine, whose first epochs decay slower
    whole = run(tmp_path / "whole", 4, CosineLR(0.1, 4))
    assert [row["lr"] for row in whole.history][2:] == [four(2), four(3)]
    assert whole.history[1]["lr"] > extended.history[1]["lr"]
    weights = [checkpoint_arrays(tmp_path / name / "last.npz")[0]["params/0.weight"]
               for name in ("whole", "extended")]
    assert not np.array_equal(*weights)


def test_an_interrupted_extension_resumes_exactly(tmp_path):
    run(tmp_path / "once", 2, CosineLR(0.1, 2))
    run(tmp_path / "once", 4, CosineLR(0.1, 4), resume=True)
    run(tmp_path / "twice", 2, CosineLR(0.1, 2))
    run(tmp_path / "twice", 3, CosineLR(0.1, 4), resume=True)     # stopped after epoch 3
    lines = []
    run(tmp_path / "twice", 4, CosineLR(0.1, 4), resume=True, log=lines.append)
    assert not any("re-planned" in line for line in lines)       # same plan: a plain resume
    assert_same_run(tmp_path / "once" / "last.npz", tmp_path / "twice" / "last.npz")
    config = load_checkpoint(tmp_path / "twice" / "last.npz").config
    assert [plan["at_epoch"] for plan in config["replanned"]] == [2]


@pytest.mark.parametrize("schedule, difference", [
    (CosineLR(0.2, 4), "schedule.lr: saved 0.1, now 0.2"),
    (CosineLR(0.1, 4, min_lr=0.01), "schedule.min_lr: saved 0.0, now 0.01"),
    (StepLR(0.1, 2), 'schedule.type: saved "CosineLR", now "StepLR"'),
])
def test_only_the_horizon_of_the_schedule_may_change(tmp_path, schedule, difference):
    run(tmp_path / "run", 1, CosineLR(0.1, 1))
    with pytest.raises(RunDirectoryError, match="cannot resume") as info:
        run(tmp_path / "run", 4, schedule, resume=True)
    assert difference in str(info.value)
    if isinstance(schedule, CosineLR):          # the horizon itself is not a difference
        assert "total_epochs" not in str(info.value)


def test_ttnet_train_resume_with_more_epochs_on_a_cosine_run(tmp_path, monkeypatch):
    # the reported case: `ttnet train --schedule cosine ... --resume --epochs N` was refused.
    # ttnet.experiments.train builds CosineLR(lr, epochs); 100 test images keep it quick.
    load = ttdata.load

    def small(name, split, **kwargs):
        full = load(name, split, **kwargs)
        return ttdata.Dataset(full.images[:100], full.labels[:100], name=full.name,
                              split=full.split, classes=full.classes,
                              horizontal_flip=full.horizontal_flip)

    monkeypatch.setattr(ttdata, "load", small)      # what ttnet.experiments.run calls
    config = RunConfig(model="conv", width=0.125, data="fashion-mnist-mini", subset=40,
                       batch_size=20, schedule="cosine", ema_decay=None, augment=False)
    lines = []
    train(config, tmp_path / "run", 1, log=None, progress=False)
    result = train(config, tmp_path / "run", 2, resume=True, log=lines.append, progress=False)
    assert [row["epoch"] for row in result["history"]] == [1, 2]
    assert [row["lr"] for row in result["history"]] == [0.1, CosineLR(0.1, 2)(1)]
    assert "re-planned the learning-rate schedule from epoch 2 on" in "\n".join(lines)
