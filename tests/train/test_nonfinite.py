"""NaN and ±inf in training: where they are caught, what the error says, no bad checkpoint.

Every case stops the run with a FloatingPointError that names the epoch and step (or the
evaluation), says what went non-finite, lists likely causes only where there is more than
one, and states which checkpoints the run directory holds and of which epochs. No case may
leave a checkpoint holding NaN or ±inf, and nothing of the failed epoch may be written.
"""

import json

import numpy as np
import pytest

from ttnet.nn import BatchNorm1d, Flatten, Linear, Sequential, SoftmaxCrossEntropy
from ttnet.train import (SGD, Adam, ConstantLR, Schedule, Trainer, evaluate, load_checkpoint,
                         save_checkpoint)

from .synthetic import Poison, linear_net, make_task, poisoned_net, prepare

TRAIN = make_task(240, seed=1)          # 12 steps of 20 images per epoch
TEST = make_task(90, seed=2)
STEPS = 12


def trainer_for(out, model, *, epochs=2, optimizer=None, loss=None, schedule=None, **kwargs):
    optimizer = SGD(model, lr=0.1, momentum=0.9) if optimizer is None else optimizer
    return Trainer(model, optimizer, schedule or ConstantLR(0.1), prepare, out_dir=out,
                   epochs=epochs, batch_size=20, seed=4, loss=loss, progress=False, plot=False,
                   **kwargs)


def stop(trainer):
    """Run ``fit`` and return the FloatingPointError's message."""
    with pytest.raises(FloatingPointError) as info:
        trainer.fit(*TRAIN, *TEST)
    return str(info.value)


def assert_checkpoints(out, expected):
    """The run directory holds exactly the checkpoints ``{name: epoch}``, all finite."""
    held = {p.name: p for p in out.iterdir() if p.suffix == ".npz"}
    assert set(held) == set(expected)
    for name, epoch in expected.items():
        ckpt = load_checkpoint(held[name])
        assert ckpt.epoch == epoch, name
        arrays = [*ckpt.params.values(), *ckpt.buffers.values(), *ckpt.optimizer.values(),
                  *(ckpt.ema or {}).values()]
        assert all(np.isfinite(a).all() for a in arrays), name
    if expected:
        metrics = json.loads((out / "metrics.json").read_text())
        assert [row["epoch"] for row in metrics] == list(range(1, expected["last.npz"] + 1))


NO_CHECKPOINT = "holds no checkpoint: there is nothing to resume from"
EPOCH_1_KEPT = ("Nothing of this epoch was written. {out} holds last.npz (after epoch 1) and "
                "best.npz (after epoch 1), written before this error (ttnet never writes a "
                "checkpoint holding NaN or ±inf)")


def test_a_nan_input_batch_blames_the_data_not_the_learning_rate(tmp_path):
    def nan_prepare(images, rng, training):
        x = prepare(images, rng, training)
        x[0, 0, 0, 0] = np.nan
        return x

    model = linear_net()
    trainer = Trainer(model, SGD(model), ConstantLR(0.1), nan_prepare, out_dir=tmp_path / "run",
                      epochs=1, batch_size=20, progress=False)
    message = stop(trainer)
    assert message.startswith("training stopped at epoch 1, step 1 of 12: the prepared input "
                              "batch holds NaN or ±inf (1 of 1280 values).")
    assert "NaN or ±inf in the stored training images" in message
    assert "learning rate" not in message
    assert NO_CHECKPOINT in message
    assert "epoch 0" not in message
    assert_checkpoints(tmp_path / "run", {})


def test_a_nan_output_in_epoch_2_reports_the_epoch_1_checkpoints(tmp_path):
    out = tmp_path / "run"
    message = stop(trainer_for(out, poisoned_net("output", at=[STEPS + 3])))
    assert message.startswith("training stopped at epoch 2, step 3 of 12: the network's output "
                              "holds NaN or ±inf (60 of 60 values) for a finite input batch and "
                              "finite weights.")
    assert "Likely causes (ttnet cannot tell which one it was):" in message
    # the learning rate is one listed cause among others, with the evidence to judge it
    assert "training diverging: a learning rate (last set to 0.1) too high" in message
    assert "\nLosses of the last steps of this epoch: " in message
    assert "an activation overflowing float32" in message
    assert EPOCH_1_KEPT.format(out=out) in message
    assert "replays the same steps" in message
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


@pytest.mark.parametrize("epoch", [1, 2])
def test_a_nan_gradient_in_the_last_step_is_a_training_error_not_an_evaluation_error(tmp_path,
                                                                                       epoch):
    out = tmp_path / "run"
    message = stop(trainer_for(out, poisoned_net("grad", at=[epoch * STEPS])))
    assert message.startswith(f"training stopped at epoch {epoch}, step 12 of 12: the backward "
                              f"pass produced NaN or ±inf in the gradient of '1.scale', although "
                              f"the loss (")
    assert "evaluation" not in message
    assert "the loss function's backward (SoftmaxCrossEntropy)" in message
    if epoch == 1:
        assert NO_CHECKPOINT in message
        assert_checkpoints(out, {})
    else:
        assert EPOCH_1_KEPT.format(out=out) in message
        assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


class NaNLoss(SoftmaxCrossEntropy):
    """Softmax cross-entropy whose forward or backward returns NaN on chosen training calls.

    Calls are counted only while ``model`` is in training mode (evaluation uses the loss too).
    """

    def __init__(self, where, at, model):
        super().__init__()
        self.where, self.at, self.model = where, set(at), model
        self.forward_calls = self.backward_calls = 0

    def forward(self, logits, labels):
        loss = super().forward(logits, labels)
        if self.model.training:
            self.forward_calls += 1
            if self.where == "forward" and self.forward_calls in self.at:
                return np.asarray(np.nan, dtype=loss.dtype)
        return loss

    def backward(self, dout=1.0):
        self.backward_calls += 1
        grad = super().backward(dout)
        if self.where == "backward" and self.backward_calls in self.at:
            grad = np.full_like(grad, np.nan)
        return grad


def test_a_custom_loss_returning_nan_is_named_and_nothing_is_committed(tmp_path):
    out = tmp_path / "run"
    model = linear_net()
    message = stop(trainer_for(out, model, loss=NaNLoss("forward", [STEPS + 5], model)))
    assert message.startswith("training stopped at epoch 2, step 5 of 12: the training loss is "
                              "nan for finite network outputs.")
    assert "the loss function (NaNLoss): it must return a finite mean for finite logits" in message
    assert EPOCH_1_KEPT.format(out=out) in message
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


def test_a_custom_loss_with_a_nan_gradient_in_the_last_step_commits_nothing(tmp_path):
    # the regression: NaN weights were committed as last.npz, and the next error called it intact
    out = tmp_path / "run"
    model = linear_net()
    message = stop(trainer_for(out, model, epochs=3,
                               loss=NaNLoss("backward", [2 * STEPS], model)))
    assert message.startswith("training stopped at epoch 2, step 12 of 12: the backward pass "
                              "produced NaN or ±inf in the gradient of '1.weight', '1.bias'")
    assert "the loss function's backward (NaNLoss)" in message
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


class ExplodingLR(Schedule):
    """0.1 in epoch 1, then 1e6: with weight decay 1 every step multiplies the weights by ~1e6."""

    lr = 0.1

    def lr_at(self, epoch):
        return 0.1 if epoch < 1 else 1e6

    def config(self):
        return {"type": "ExplodingLR"}


def test_divergence_stops_the_run_and_a_resume_replays_it_exactly(tmp_path):
    def diverging(resume=False):
        model = linear_net()
        return trainer_for(out, model, epochs=3, schedule=ExplodingLR(), resume=resume,
                           optimizer=SGD(model, lr=0.1, momentum=0.9, weight_decay=1.0))

    out = tmp_path / "run"
    with np.errstate(over="ignore", invalid="ignore"):     # the overflow is the case under test
        first = stop(diverging())
    assert first.startswith("training stopped at epoch 2, step ")
    assert ("a learning rate (last set to 1e+06) too high" in first
            or "a learning rate (1e+06 at this step) too high" in first)
    assert "\nLosses of the last steps of this epoch: " in first
    assert EPOCH_1_KEPT.format(out=out) in first
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})
    with np.errstate(over="ignore", invalid="ignore"):
        again = stop(diverging(resume=True))
    assert again == first                       # same step, same arrays, same directory state


def test_running_statistics_that_overflow_are_caught_at_their_step(tmp_path):
    out = tmp_path / "run"
    model = Sequential(Flatten(), Poison("huge", at=[STEPS + 2]), BatchNorm1d(64),
                       Linear(64, 3, rng=0))
    message = stop(trainer_for(out, model))
    assert message.startswith("training stopped at epoch 2, step 2 of 12: the running statistics "
                              "'2.running_var' became NaN or ±inf in the forward pass, although "
                              "the output and loss were finite.")
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


def test_an_overflowing_optimiser_state_is_caught_before_the_epoch_is_committed(tmp_path):
    out = tmp_path / "run"
    model = poisoned_net("huge_grad", at=[STEPS + 4])
    with np.errstate(over="ignore"):              # Adam's g·g overflows: the case under test
        message = stop(trainer_for(out, model, optimizer=Adam(model, lr=0.01)))
    assert message.startswith("training stopped after the last step of epoch 2: NaN or ±inf in "
                              "Adam state 'v/1.scale' (1 of 1 entries), although every parameter "
                              "and buffer is finite.")
    assert "Adam's second moment holds squared gradients" in message
    assert EPOCH_1_KEPT.format(out=out) in message
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


def test_a_nan_in_evaluation_is_reported_as_such_after_finite_training(tmp_path):
    out = tmp_path / "run"
    # evaluation of epoch 1 takes 5 batches of 20 (90 images); batch 2 of epoch 2 goes bad
    message = stop(trainer_for(out, poisoned_net("eval_output", at=[5 + 2])))
    assert message.startswith("training stopped in the evaluation after epoch 2's training: "
                              "evaluation: the network's output for images 20..39 of 90 holds "
                              "NaN or ±inf (60 of 60 values) for a finite input, although every "
                              "parameter, buffer, optimiser-state and EMA array is finite.")
    assert EPOCH_1_KEPT.format(out=out) in message
    assert_checkpoints(out, {"last.npz": 1, "best.npz": 1})


def test_a_model_holding_nan_is_refused_before_the_first_step(tmp_path):
    model = linear_net()
    model.params["1.weight"][0, 0] = np.nan
    message = stop(trainer_for(tmp_path / "run", model))
    assert message == ("cannot train: the training state handed to the trainer holds NaN or ±inf "
                       "in parameter '1.weight' (1 of 192 entries)")


def test_resuming_from_a_non_finite_checkpoint_is_refused(tmp_path):
    out = tmp_path / "run"
    trainer_for(out, linear_net(), epochs=1).fit(*TRAIN, *TEST)
    # a last.npz with NaN weights, as an older ttnet could write it
    model = linear_net()
    optimizer = SGD(model, lr=0.1, momentum=0.9)
    ckpt = load_checkpoint(out / "last.npz")
    ckpt.restore(model, optimizer)
    model.params["1.bias"][1] = np.inf
    save_checkpoint(out / "last.npz", model, optimizer=optimizer, epoch=1, config=ckpt.config,
                    metrics=ckpt.metrics, allow_nonfinite=True)
    message = stop(trainer_for(out, linear_net(), resume=True))
    assert message == (f"cannot train: the training state restored from {out / 'last.npz'} "
                       f"(written by a ttnet that did not check for NaN) holds NaN or ±inf in "
                       f"parameter '1.bias' (1 of 3 entries)")


# ---------------------------------------------------------------- evaluate() on its own
def test_evaluate_names_the_images_whose_input_output_or_loss_is_not_finite():
    images, labels = TEST
    model = linear_net()

    def nan_last_image(batch, rng, training):
        x = prepare(batch, rng, training)
        x[-1] = np.nan
        return x

    with pytest.raises(FloatingPointError, match=r"evaluation: prepare returned NaN or ±inf "
                                                 r"\(64 of 1280 values\) for images 0\.\.19 of 90"):
        evaluate(model, images, labels, nan_last_image, batch_size=20)
    poisoned = poisoned_net("eval_output", at=[3])
    with pytest.raises(FloatingPointError, match=r"evaluation: the network's output for images "
                                                 r"40\.\.59 of 90 holds NaN or ±inf"):
        evaluate(poisoned, images, labels, prepare, batch_size=20)

    class AlwaysNaN(SoftmaxCrossEntropy):
        def forward(self, logits, labels):
            super().forward(logits, labels)
            return np.asarray(np.nan, dtype=logits.dtype)

    with pytest.raises(FloatingPointError, match=r"evaluation: the loss is nan for images "
                                                 r"0\.\.19 of 90, whose network outputs are "
                                                 r"finite"):
        evaluate(model, images, labels, prepare, batch_size=20, loss=AlwaysNaN())
