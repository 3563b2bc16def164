"""The trainer: learning, output files, exact in-process resume, refusals, evaluation, dtypes."""

import json

import numpy as np
import pytest

from ttnet.nn import Linear, SoftmaxCrossEntropy
from ttnet.train import (EMA, SGD, Adam, ConstantLR, CosineLR, StepLR, Trainer, evaluate,
                         load_checkpoint)

from .synthetic import conv_net, linear_net, make_task, prepare

TRAIN = make_task(240, seed=1)
TEST = make_task(90, seed=2)


def make_trainer(out, *, epochs=3, model=None, optimizer=None, ema=True, config=None,
                 schedule=None, **kwargs):
    model = conv_net(seed=3) if model is None else model
    optimizer = SGD(model, lr=0.1, momentum=0.9) if optimizer is None else optimizer
    return Trainer(model, optimizer, schedule or StepLR(0.1, step_epochs=2, gamma=0.5), prepare,
                   out_dir=out, epochs=epochs, batch_size=20, seed=4,
                   ema=EMA(model, 0.99) if ema else None,
                   config={"net": "conv"} if config is None else config, progress=False,
                   **kwargs)


def checkpoint_arrays(path):
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"][()]))
        return {k: data[k] for k in data.files if k != "meta"}, meta


def assert_same_run(path_a, path_b):
    """Every array bit for bit, the RNG states, and the metrics except wall-clock timings."""
    arrays_a, meta_a = checkpoint_arrays(path_a)
    arrays_b, meta_b = checkpoint_arrays(path_b)
    assert sorted(arrays_a) == sorted(arrays_b)
    for key in arrays_a:
        assert arrays_a[key].dtype == arrays_b[key].dtype, key
        assert np.array_equal(arrays_a[key], arrays_b[key]), key
    assert meta_a["rng_states"] == meta_b["rng_states"]
    assert meta_a["epoch"] == meta_b["epoch"]
    untimed = [[{k: v for k, v in row.items() if k not in ("seconds", "images_per_s")}
                for row in meta["metrics"]] for meta in (meta_a, meta_b)]
    assert untimed[0] == untimed[1]


def test_loss_falls_and_files_are_written(tmp_path):
    lines = []
    trainer = make_trainer(tmp_path / "run", epochs=4, log=lines.append)
    history = trainer.fit(*TRAIN, *TEST)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.8                      # chance is 1/3
    assert [row["lr"] for row in history] == [0.1, 0.1, 0.05, 0.05]
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == ["best.npz", "config.json", "last.npz", "learning_curves.png",
                     "metrics.csv", "metrics.json"]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == history
    last = load_checkpoint(tmp_path / "run" / "last.npz")
    assert last.epoch == 4 and last.metrics == history
    assert last.config["config"] == {"net": "conv"} and last.config["seed"] == 4
    best_epoch = 1 + int(np.argmax([row["test_acc"] for row in history]))   # first maximum
    assert load_checkpoint(tmp_path / "run" / "best.npz").epoch == best_epoch
    assert len(lines) == 4 and lines[0].startswith("epoch 1/4")


def test_training_stays_float32(tmp_path):
    trainer = make_trainer(tmp_path / "run", epochs=1, plot=False)
    trainer.fit(*TRAIN, *TEST)
    assert all(p.dtype == np.float32 for p in trainer.model.params.values())
    assert all(g.dtype == np.float32 for g in trainer.model.grads.values())
    assert all(b.dtype == np.float32 for b in trainer.model.buffers.values())
    assert all(v.dtype == np.float32 for v in trainer.optimizer.velocity.values())
    assert all(s.dtype == np.float32 for s in trainer.ema.shadow.values())


def test_prepare_returning_float64_is_refused(tmp_path):
    model = linear_net()
    trainer = Trainer(model, SGD(model), ConstantLR(0.1), lambda x, rng, t: x.astype(np.float64),
                      out_dir=tmp_path / "run", epochs=1, batch_size=20, progress=False)
    with pytest.raises(TypeError, match="prepare returned dtype float64 but the model's "
                                        "parameters are float32"):
        trainer.fit(*TRAIN, *TEST)


def test_nan_input_stops_with_a_clear_error(tmp_path):   # more in test_nonfinite.py
    def nan_prepare(images, rng, training):
        x = prepare(images, rng, training)
        return np.full_like(x, np.nan) if training else x

    model = linear_net()
    trainer = Trainer(model, SGD(model), ConstantLR(0.1), nan_prepare, out_dir=tmp_path / "run",
                      epochs=1, batch_size=20, progress=False)
    with pytest.raises(FloatingPointError,
                       match="training stopped at epoch 1, step 1 of 12: the prepared input "
                             "batch holds NaN"):
        trainer.fit(*TRAIN, *TEST)


@pytest.mark.parametrize("make_optimizer, ema", [
    (lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4), True),
    (lambda m: Adam(m, lr=0.01, weight_decay=1e-4), False),
])
def test_resume_after_a_clean_stop_is_bit_identical(tmp_path, make_optimizer, ema):
    def run(out, epochs, resume=False):
        model = conv_net(seed=3)
        trainer = make_trainer(out, epochs=epochs, model=model, optimizer=make_optimizer(model),
                               ema=ema, resume=resume, plot=False,
                               schedule=CosineLR(0.1, total_epochs=4))
        trainer.fit(*TRAIN, *TEST)
        return trainer

    run(tmp_path / "whole", 4)
    run(tmp_path / "parts", 2)
    resumed = run(tmp_path / "parts", 4, resume=True)      # epochs may grow on resume
    assert resumed.epoch == 4 and len(resumed.history) == 4
    assert_same_run(tmp_path / "whole" / "last.npz", tmp_path / "parts" / "last.npz")
    assert_same_run(tmp_path / "whole" / "best.npz", tmp_path / "parts" / "best.npz")
    metrics = json.loads((tmp_path / "parts" / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics] == [1, 2, 3, 4]


def test_resume_of_a_finished_run_does_nothing(tmp_path):
    make_trainer(tmp_path / "run", epochs=1, plot=False).fit(*TRAIN, *TEST)
    before = (tmp_path / "run" / "last.npz").read_bytes()
    trainer = make_trainer(tmp_path / "run", epochs=1, plot=False, resume=True)
    assert len(trainer.fit(*TRAIN, *TEST)) == 1
    assert (tmp_path / "run" / "last.npz").read_bytes() == before


def test_evaluate_matches_a_direct_computation_and_restores_modes():
    model = conv_net(seed=0)
    model.layers[1].training = False         # a mixed state must come back as it was
    images, labels = TEST
    loss, acc = evaluate(model, images, labels, prepare, batch_size=7)
    assert [m.training for m in model.modules()] == [True, True, False] + [True] * 5
    model.eval()
    logits = model(prepare(images, None, False))
    assert acc == np.mean(np.argmax(logits, axis=1) == labels)
    assert loss == pytest.approx(float(SoftmaxCrossEntropy()(logits, labels)), rel=1e-5)
    loss_big, acc_big = evaluate(model, images, labels, prepare, batch_size=1000)
    assert acc_big == acc and loss_big == pytest.approx(loss, rel=1e-6)


def test_progress_bar_runs(tmp_path, capsys):
    trainer = make_trainer(tmp_path / "run", epochs=1, plot=False)
    trainer.progress = True
    trainer.fit(*TRAIN, *TEST)
    assert "epoch 1/1" in capsys.readouterr().err


def test_argument_errors(tmp_path):
    model = linear_net()
    other = linear_net()
    good = dict(out_dir=tmp_path, epochs=1)
    with pytest.raises(ValueError, match="optimizer must be built on this model"):
        Trainer(model, SGD(other), ConstantLR(0.1), prepare, **good)
    with pytest.raises(ValueError, match="ema must be built on this model"):
        Trainer(model, SGD(model), ConstantLR(0.1), prepare, ema=EMA(other), **good)
    with pytest.raises(TypeError, match="schedule must be a ttnet.train Schedule"):
        Trainer(model, SGD(model), 0.1, prepare, **good)
    with pytest.raises(TypeError, match="prepare must be callable"):
        Trainer(model, SGD(model), ConstantLR(0.1), None, **good)
    with pytest.raises(ValueError, match="resume and overwrite cannot both be True"):
        Trainer(model, SGD(model), ConstantLR(0.1), prepare, resume=True, overwrite=True, **good)
    with pytest.raises(TypeError, match="config must be JSON-serialisable"):
        Trainer(model, SGD(model), ConstantLR(0.1), prepare, config={"x": {1, 2}}, **good)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        Trainer(model, SGD(model), ConstantLR(0.1), prepare, out_dir=tmp_path, epochs=0)
    trainer = Trainer(model, SGD(model), ConstantLR(0.1), prepare, batch_size=500, **good)
    with pytest.raises(ValueError, match=r"batch_size \(500\) must be <= the number of training"):
        trainer.fit(*TRAIN, *TEST)
    with pytest.raises(TypeError, match="train_labels must be a 1-D integer ndarray"):
        trainer.fit(TRAIN[0], TRAIN[1].astype(float), *TEST)
    with pytest.raises(ValueError, match="test_images and test_labels must have the same length"):
        trainer.fit(*TRAIN, TEST[0], TEST[1][:-1])
    with pytest.raises(TypeError, match="model must be a ttnet.nn Module"):
        evaluate(Linear, *TEST, prepare)
