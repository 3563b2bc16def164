"""The run directory: refusing, resuming and overwriting, the recorded settings and their diff."""

import json

import pytest

import ttnet.train.run_dir as run_dir_module
from ttnet.train import SGD, RunDirectoryError, StepLR, load_checkpoint
from ttnet.train.run_dir import (completed_epochs, config_differences, is_leftover,
                                 recorded_config)

from .synthetic import conv_net, linear_net, make_task
from .test_trainer import TEST, TRAIN, make_trainer


def test_resume_of_an_empty_or_missing_directory_starts_afresh(tmp_path):
    trainer = make_trainer(tmp_path / "new", epochs=1, plot=False, resume=True)
    assert len(trainer.fit(*TRAIN, *TEST)) == 1


def test_refuses_a_non_empty_directory(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match=r"run directory .*run is not empty \(notes.txt\); "
                                                r"pass resume=True \(--resume\) .* "
                                                r"overwrite=True \(--overwrite\)"):
        make_trainer(out).fit(*TRAIN, *TEST)
    with pytest.raises(RunDirectoryError, match="holds no ttnet run"):
        make_trainer(out, resume=True).fit(*TRAIN, *TEST)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_overwrite_replaces_only_the_run_files(tmp_path):
    out = tmp_path / "run"
    make_trainer(out, epochs=1, plot=False).fit(*TRAIN, *TEST)
    (out / "notes.txt").write_text("mine")
    (out / "best.npz").write_bytes(b"stale")
    trainer = make_trainer(out, epochs=1, config={"net": "other"}, overwrite=True, plot=False)
    trainer.fit(*TRAIN, *TEST)
    assert (out / "notes.txt").read_text() == "mine"
    assert load_checkpoint(out / "best.npz").config["config"] == {"net": "other"}


def test_refuses_to_resume_another_configuration(tmp_path):
    out = tmp_path / "run"
    make_trainer(out, epochs=1, plot=False).fit(*TRAIN, *TEST)
    with pytest.raises(RunDirectoryError) as info:
        make_trainer(out, epochs=2, config={"net": "conv", "width": 2}, resume=True,
                     schedule=StepLR(0.1, step_epochs=5, gamma=0.5)).fit(*TRAIN, *TEST)
    message = str(info.value)
    assert message.startswith("cannot resume: ")
    assert "last.npz was written by a different" in message
    assert "config.width: absent in the saved run, now 2" in message
    assert "schedule.step_epochs: saved 2, now 5" in message
    assert "--overwrite" in message
    with pytest.raises(RunDirectoryError, match="optimizer.momentum: saved 0.9, now 0.5"):
        model = conv_net(seed=3)
        make_trainer(out, epochs=2, model=model, optimizer=SGD(model, momentum=0.5),
                     resume=True).fit(*TRAIN, *TEST)
    with pytest.raises(RunDirectoryError, match=r"data.train.blake2b: saved"):
        make_trainer(out, epochs=2, resume=True).fit(*make_task(240, seed=7), *TEST)


def test_refuses_to_resume_another_model(tmp_path):
    out = tmp_path / "run"
    make_trainer(out, epochs=1, plot=False).fit(*TRAIN, *TEST)
    other = linear_net()
    with pytest.raises(RunDirectoryError) as info:
        make_trainer(out, epochs=2, model=other, resume=True).fit(*TRAIN, *TEST)
    message = str(info.value)
    assert "different model or configuration" in message
    assert "model.params.0.weight: saved \"(4, 1, 3, 3) float32\", now absent" in message
    assert "model.params.1.weight: absent in the saved run, now \"(3, 64) float32\"" in message


def test_killed_in_the_first_epoch_resumes_from_config_json(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    trainer = make_trainer(out, epochs=1, plot=False)
    run = trainer.run_config(*TRAIN, *TEST)
    (out / "config.json").write_text(json.dumps({"format": "ttnet-run", "run": run}))
    (out / ".last.npz.123.abcd.tmp").write_bytes(b"half a checkpoint")
    resumed = make_trainer(out, epochs=1, plot=False, resume=True)
    resumed.fit(*TRAIN, *TEST)
    assert not (out / ".last.npz.123.abcd.tmp").exists()
    other = dict(run, seed=5)
    (out / "config.json").write_text(json.dumps({"format": "ttnet-run", "run": other}))
    (out / "last.npz").unlink()
    with pytest.raises(RunDirectoryError, match="(?s)config.json was written by a different .*"
                                                "seed: saved 5, now 4"):
        make_trainer(out, epochs=1, resume=True).fit(*TRAIN, *TEST)


def test_resume_in_another_environment_warns(tmp_path, monkeypatch):
    out = tmp_path / "run"
    make_trainer(out, epochs=1, plot=False).fit(*TRAIN, *TEST)
    real = run_dir_module.environment
    monkeypatch.setattr(run_dir_module, "environment", lambda: {**real(), "numba_threads": 99})
    with pytest.warns(run_dir_module.ReproducibilityWarning, match="numba_threads: .* -> 99"):
        make_trainer(out, epochs=2, plot=False, resume=True).fit(*TRAIN, *TEST)


def test_unusable_directories(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirectoryError, match="exists and is not a directory"):
        make_trainer(tmp_path / "file").fit(*TRAIN, *TEST)
    out = tmp_path / "run"
    make_trainer(out, epochs=1, plot=False).fit(*TRAIN, *TEST)
    (out / "last.npz").write_bytes(b"garbage")
    with pytest.raises(RunDirectoryError, match="cannot resume: checkpoint .*last.npz is not a "
                                                "readable .npz file"):
        make_trainer(out, epochs=2, resume=True).fit(*TRAIN, *TEST)


def test_leftovers_are_the_temporary_files_of_run_files():
    assert is_leftover(".last.npz.123.abcd.tmp")
    assert is_leftover(".config.json.9.x.tmp")
    assert not is_leftover(".notes.txt.1.x.tmp")          # not a run file
    assert not is_leftover("last.npz")


def test_config_differences_lists_each_path():
    saved = {"a": 1, "b": {"c": [1, {"d": "x"}]}, "gone": 0}
    now = {"a": 2, "b": {"c": [1, {"d": "y"}]}, "new": 0}
    assert config_differences(saved, now) == [
        "a: saved 1, now 2", 'b.c[1].d: saved "x", now "y"', "gone: saved 0, now absent",
        "new: absent in the saved run, now 0"]
    assert config_differences(saved, saved) == []


def test_completed_epochs_and_recorded_config(tmp_path):
    out = tmp_path / "run"
    assert completed_epochs(out) is None and recorded_config(out) is None       # missing
    out.mkdir()
    assert completed_epochs(out) is None and recorded_config(out) is None       # empty
    trainer = make_trainer(out, epochs=1, plot=False)
    run = trainer.run_config(*TRAIN, *TEST)
    (out / "config.json").write_text(json.dumps({"format": "ttnet-run", "run": run}))
    assert completed_epochs(out) == 0                     # started, no epoch committed
    assert recorded_config(out) == {"net": "conv"}
    make_trainer(out, epochs=2, plot=False, resume=True).fit(*TRAIN, *TEST)
    assert completed_epochs(out) == 2
    (out / "config.json").unlink()                        # last.npz records it too
    assert recorded_config(out) == {"net": "conv"}
