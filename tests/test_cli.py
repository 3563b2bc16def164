"""The command-line interface: ``ttnet`` and ``python -m ttnet``."""

import io
import json
import re
import subprocess
import sys

import pytest

from ttnet import __version__
from ttnet.cli import main, parse_ranks, tour

TINY = ["--model", "tt-conv", "--width", "0.125", "--ranks", "2", "--data", "fashion-mnist-mini",
        "--subset", "200", "--batch-size", "50", "--no-progress"]


def test_tour_prints_ranks_errors_and_sizes():
    out = io.StringIO()
    tour(seed=0, out=out)
    text = out.getvalue()
    assert "ranks (1, 2, 2, 2, 2, 2, 1)" in text  # sin of a sum has TT-rank 2
    errors = [float(e) for e in re.findall(r"relative error (\S+),", text)]
    assert errors and errors[0] < 1e-9
    assert "(X + X).round().ranks (1, 4, 4, 4, 4, 4, 4, 4, 1)" in text
    assert main(["tour"]) == 0


def test_python_dash_m_runs_and_reports_its_version():
    result = subprocess.run([sys.executable, "-m", "ttnet", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"ttnet {__version__}"


def test_every_command_has_help_with_an_example():
    for command in ("demo", "train", "eval", "summary", "tour"):
        result = subprocess.run([sys.executable, "-m", "ttnet", command, "--help"],
                                capture_output=True, text=True, check=True)
        assert "Example: ttnet " + command in result.stdout


def test_usage_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "tt-conv", "--epochs", "0", "--out", "x"])
    assert info.value.code == 2
    assert "expected an integer >= 1, got 0" in capsys.readouterr().err


def test_parse_ranks():
    assert parse_ranks("16") == 16
    assert parse_ranks("40/30") == [40, 30]
    assert parse_ranks("22,20,20/27,22,22") == [[22, 20, 20], [27, 22, 22]]


def test_summary(capsys):
    assert main(["summary", "--model", "tt-conv-tt-fc", "--ranks", "16", "--fc-ranks", "40/30"]) == 0
    assert "compression: 41.65x" in capsys.readouterr().out


def test_train_eval_refusals_and_resume(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--epochs", "1", "--out", out]) == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "compression" in text
    for name in ("last.npz", "best.npz", "metrics.json", "metrics.csv", "learning_curves.png"):
        assert (tmp_path / "run" / name).exists(), name

    # a non-empty run directory is refused without --resume or --overwrite
    assert main(["train", *TINY, "--epochs", "1", "--out", out]) == 1
    assert "is not empty" in capsys.readouterr().err
    # resuming a different configuration is refused, naming the difference
    assert main(["train", *TINY, "--lr", "0.05", "--epochs", "2", "--out", out, "--resume"]) == 1
    assert "lr" in capsys.readouterr().err
    # resuming the same configuration continues the run
    assert main(["train", *TINY, "--epochs", "2", "--out", out, "--resume"]) == 0
    capsys.readouterr()
    assert len(json.loads((tmp_path / "run" / "metrics.json").read_text())) == 2
    assert main(["train", *TINY, "--epochs", "1", "--out", out, "--overwrite"]) == 0
    capsys.readouterr()

    assert main(["eval", "--checkpoint", str(tmp_path / "run" / "last.npz")]) == 0
    text = capsys.readouterr().out
    assert re.search(r"test set of fashion-mnist-mini: accuracy \d+\.\d\d %", text)
    assert main(["eval", "--checkpoint", str(tmp_path / "missing.npz")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_end_to_end_training_learns(tmp_path, capsys):
    # a few hundred SGD steps on the packaged Fashion-MNIST subset: the loss falls and the
    # test accuracy beats chance (10 %) by a wide margin
    out = tmp_path / "run"
    args = ["--model", "tt-conv", "--width", "0.25", "--ranks", "8", "--data",
            "fashion-mnist-mini", "--subset", "3000", "--batch-size", "50", "--schedule", "cosine",
            "--epochs", "4", "--seed", "1", "--out", str(out), "--no-progress"]
    assert main(["train", *args]) == 0
    history = json.loads((out / "metrics.json").read_text())
    assert len(history) == 4                               # 4 x 60 = 240 steps
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.6
    capsys.readouterr()


def test_download_flag_reaches_the_data_loader(tmp_path, monkeypatch, capsys):
    import ttnet.data as ttdata

    calls = []
    real_load = ttdata.load

    def spy(name, split="train", root=None, download=False):
        calls.append((name, split, download))
        return real_load(name, split, root, download)

    monkeypatch.setattr(ttdata, "load", spy)
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "r"), "--download"]) == 0
    assert ("fashion-mnist-mini", "train", True) in calls
    assert main(["eval", "--checkpoint", str(tmp_path / "r" / "last.npz"), "--download"]) == 0
    assert calls[-1] == ("fashion-mnist-mini", "test", True)
    capsys.readouterr()


def test_eval_refuses_a_checkpoint_whose_config_lacks_run_settings(tmp_path, capsys):
    from ttnet.nn import Linear
    from ttnet.train import save_checkpoint

    path = tmp_path / "partial.npz"
    partial = {"model": "conv", "width": 1.0, "normalizer": {"mean": [0.0], "std": [1.0]},
               "input_shape": [1, 32, 32], "classes": [str(k) for k in range(10)]}
    save_checkpoint(path, Linear(2, 2, rng=0), config={"config": partial})
    assert main(["eval", "--checkpoint", str(path)]) == 1
    err = capsys.readouterr().err
    assert "was not written by ttnet.experiments.train" in err
    assert "lacks conv_ranks, fc_ranks, data" in err
