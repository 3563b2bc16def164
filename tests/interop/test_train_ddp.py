"""examples/train_ddp.py really trains with DistributedDataParallel, and ttnet reads the result.

Two processes (gloo, CPU, 127.0.0.1) train a small TT-conv network for a few
steps on the packaged Fashion-MNIST subset in float64. Afterwards both hold
the same weights, and these equal a single-process run on the concatenated
(global) batch up to the order of floating-point additions; the checkpoint of
process 0 is read by ``ttnet eval``. Skipped without PyTorch (the ``torch`` extra).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttnet.experiments import evaluate_checkpoint  # noqa: E402
from ttnet.interop.torch import torch_names  # noqa: E402
from ttnet.train import load_checkpoint  # noqa: E402

from ..helpers import load_script  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "train_ddp.py"
ARGS = ["--model", "tt-conv", "--width", "0.125", "--ranks", "2", "--data", "fashion-mnist-mini",
        "--steps", "3", "--batch-size", "16", "--lr", "0.1", "--momentum", "0.9",
        "--dtype", "float64"]


def _run(args, out_dir):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    out_dir.mkdir()
    result = subprocess.run([sys.executable, str(SCRIPT), *ARGS, *args, "--out",
                             str(out_dir / "last.npz"), "--dump-dir", str(out_dir)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _load(path):
    with np.load(path) as saved:
        return {k: saved[k] for k in saved.files}


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path):
    start = time.perf_counter()
    log = _run(["--processes", "2"], tmp_path / "ddp")
    assert time.perf_counter() - start < 60        # the two-process run, start to finish
    assert "step 3/3" in log and "wrote" in log
    ranks = [_load(tmp_path / "ddp" / f"rank{r}.npz") for r in range(2)]
    single_log = _run(["--processes", "1"], tmp_path / "single")
    single = _load(tmp_path / "single" / "rank0.npz")
    # both processes hold the same weights and BatchNorm statistics
    assert set(ranks[0]) == set(ranks[1]) == set(single)
    for key in ranks[0]:
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
    # ... which are those of one process on the global batch (up to reduction order)
    params = [k for k in single if not k.endswith(("running_mean", "running_var",
                                                    "num_batches_tracked"))]
    assert any(k.endswith("core1") for k in params)
    for key in single:
        assert ranks[0][key].dtype == single[key].dtype
        np.testing.assert_allclose(ranks[0][key], single[key], rtol=1e-9, atol=1e-12,
                                   err_msg=key)
    # the training moved the weights (the comparison is not between two initial states)
    initial = _load_initial()
    assert max(np.abs(single[k] - initial[k]).max() for k in params) > 1e-3
    # the global-batch loss printed by the two runs is the same
    losses = [[line.split()[3] for line in text.splitlines() if line.startswith("step")]
              for text in (log, single_log)]
    assert losses[0] == losses[1] and len(losses[0]) == 3

    # ttnet reads the checkpoint of process 0: float32 copies of its weights
    path = tmp_path / "ddp" / "last.npz"
    ckpt = load_checkpoint(path)
    result = evaluate_checkpoint(path)
    assert result["config"]["model"] == "tt-conv" and result["n_params"] > 0
    assert 0.0 <= result["accuracy"] <= 1.0
    names = torch_names(_ttnet_model(np.float32))
    for ttnet_name, torch_name in names.items():
        saved = {**ckpt.params, **ckpt.buffers}[ttnet_name]
        assert saved.dtype == np.float32
        np.testing.assert_array_equal(saved, ranks[0][torch_name].astype(np.float32))
    cli = subprocess.run([sys.executable, "-m", "ttnet", "eval", "--checkpoint", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert cli.returncode == 0, cli.stderr
    assert f"{100 * result['accuracy']:.2f} %" in cli.stdout


def _ttnet_model(dtype):
    from ttnet import models
    return models.build("tt-conv", input_shape=(1, 32, 32), width=0.125, conv_ranks=2, rng=0,
                        dtype=dtype)


def _load_initial():
    from ttnet.interop.torch import to_torch
    return {k: v.numpy() for k, v in to_torch(_ttnet_model(np.float64)).state_dict().items()}


def _example():
    return load_script(SCRIPT, "train_ddp_under_test")


def test_bad_arguments_are_refused_before_any_process_starts(capsys):
    example = _example()
    assert example.main(["--processes", "2", "--batch-size", "15", "--out", "unused.npz"]) == 2
    assert "batch_size 15 must be divisible by the number of processes 2" in capsys.readouterr().err
    assert example.main(["--model", "conv", "--steps", "0"]) == 2
    assert "steps must be an int >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="processes must be an int >= 1, got 0"):
        example.train_ddp(example.DDPConfig(), processes=0)
    assert not Path("unused.npz").exists()
