"""kill -9 in the middle of an epoch, resume, and end bit-identical to an uninterrupted run.

Three real processes run ``tests/train/train_script.py`` (a complete training
with a conv net, BatchNorm, Dropout, Nesterov SGD with weight decay, a step
schedule and an EMA):

1. the reference: 5 epochs without interruption;
2. the victim: the same run, slowed down (``--sleep``, which changes no
   number), killed with SIGKILL once ``last.npz`` of epoch 1 exists and it is
   a few batches into epoch 2;
3. the resumption: ``--resume`` in the victim's directory, to the end.

Then every array of ``last.npz`` and ``best.npz`` (parameters, BatchNorm
buffers, momentum, EMA) must be equal bit for bit, and so must the Dropout
generator's state and the metrics (timings aside).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ttnet.train import load_checkpoint

from .test_trainer import assert_same_run

ROOT = Path(__file__).resolve().parents[2]
STEPS_PER_EPOCH = 12            # 240 images, batch 20 (train_script.py)
EPOCHS = 5

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def script(out, *args):
    return [sys.executable, "-m", "tests.train.train_script", str(out), str(EPOCHS), *args]


def environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_to_end(args):
    done = subprocess.run(args, cwd=ROOT, env=environment(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def read_count(path):
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def test_kill_9_mid_epoch_then_resume_is_bit_identical(tmp_path):
    reference, victim, progress = tmp_path / "reference", tmp_path / "victim", tmp_path / "batches"
    run_to_end(script(reference))

    process = subprocess.Popen(script(victim, "--sleep", "0.08", "--progress-file", str(progress)),
                               cwd=ROOT, env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # wait for epoch 1's checkpoint and for 3 batches of epoch 2
        while not ((victim / "last.npz").exists() and read_count(progress) >= STEPS_PER_EPOCH + 3):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the training process made no progress"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    killed_at = read_count(progress)
    assert STEPS_PER_EPOCH < killed_at < 2 * STEPS_PER_EPOCH, \
        f"not killed in the middle of epoch 2 (after {killed_at} batches)"
    assert load_checkpoint(victim / "last.npz").epoch == 1

    run_to_end(script(victim, "--resume"))

    assert load_checkpoint(victim / "last.npz").epoch == EPOCHS
    assert_same_run(reference / "last.npz", victim / "last.npz")
    assert_same_run(reference / "best.npz", victim / "best.npz")
