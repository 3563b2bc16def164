"""The command-line interface: ``ttnet`` and ``python -m ttnet``."""

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from ttnet import __version__
from ttnet.cli import main, parse_ranks, tour

from .helpers import small_data

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


def test_demo_replaces_its_own_output_and_refuses_any_other_run(tmp_path, monkeypatch, capsys):
    from ttnet.experiments import previous_demo

    small_data(monkeypatch, 200)
    demo_dir, other = tmp_path / "demo", tmp_path / "other"
    assert previous_demo(demo_dir) is False                  # nothing there: a fresh run
    assert main(["demo", "--out", str(demo_dir), "--epochs", "1", "--no-progress"]) == 0
    assert previous_demo(demo_dir) is True
    (demo_dir / "notes.txt").write_text("mine")
    # a second demo (other epochs) replaces the first; files that are not the run's stay
    assert main(["demo", "--out", str(demo_dir), "--epochs", "2", "--no-progress"]) == 0
    assert len(json.loads((demo_dir / "metrics.json").read_text())) == 2
    assert (demo_dir / "notes.txt").read_text() == "mine"

    # another run is never replaced: the demo obeys the rule of `ttnet train`
    assert main(["train", *TINY, "--epochs", "1", "--out", str(other)]) == 0
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    capsys.readouterr()
    assert main(["demo", "--out", str(other), "--epochs", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "(--out) holds a run that is not a previous demo" in err
    assert "width 0.125 instead of 0.25" in err
    assert {p.name: p.read_bytes() for p in other.iterdir()} == before

    # nor a directory of other files, nor a file
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "thesis.tex").write_text("x")
    assert main(["demo", "--out", str(tmp_path / "stuff"), "--no-progress"]) == 1
    assert "thesis.tex" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "stuff" / "thesis.tex"), "--no-progress"]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert (tmp_path / "stuff" / "thesis.tex").read_text() == "x"


def test_eval_names_the_checkpoint_option_and_what_it_found(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint_like_train(run / "best.npz")
    assert main(["eval", "--checkpoint", str(run)]) == 1
    err = capsys.readouterr().err
    assert f"--checkpoint: path {run} is a directory; expected a checkpoint file such as " \
           f"{run / 'best.npz'}" in err
    np.savez(tmp_path / "weights.npz", meta=np.array(json.dumps(
        {"format": "ttnet-checkpoint", "version": 1, "epoch": 3, "config": {}, "metrics": [],
         "params": {"w": 1}, "buffers": [], "optimizer_type": None, "ema": False,
         "rng_states": {}})))
    assert main(["eval", "--checkpoint", str(tmp_path / "weights.npz")]) == 1
    err = capsys.readouterr().err
    assert "--checkpoint: checkpoint" in err
    assert ("is corrupt: its meta entry has 'params' is {'w': 1} (dict), expected the list of "
            "parameter names") in err


def save_checkpoint_like_train(path):
    from ttnet.nn import Linear
    from ttnet.train import save_checkpoint

    save_checkpoint(path, Linear(2, 2, rng=0), config={"config": {"model": "conv"}})


def test_summary_warns_about_ranks_too_large_to_compress(capsys):
    assert main(["summary", "--model", "tt-conv", "--ranks", "100", "--width", "0.25"]) == 0
    captured = capsys.readouterr()
    assert "compression: 0.04x" in captured.out
    assert captured.err.startswith("ttnet summary: warning (CompressionWarning): TT layers with "
                                   "more parameters than the dense layers they replace")
    assert "layer 3, TTConv2d 16 -> 16 channels, ranks (100, 100, 100) (conv_ranks=100): 82,500 " \
           "parameters, its dense twin 2,304" in captured.err


def test_tour_refuses_a_negative_seed():
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        tour(seed=-1, out=io.StringIO())


def test_train_takes_its_defaults_from_run_config():
    from ttnet.cli import build_parser, run_config_from_args
    from ttnet.experiments import RunConfig

    args = build_parser().parse_args(["train", "--model", "conv", "--epochs", "1", "--out", "o"])
    assert run_config_from_args(args) == RunConfig(model="conv")
    args = build_parser().parse_args(["train", "--model", "conv", "--epochs", "1", "--out", "o",
                                      "--lr-gamma", "0.5"])
    assert run_config_from_args(args).lr_gamma == 0.5


@pytest.mark.parametrize("value", ["0", "1.5", "nan"])
def test_lr_gamma_out_of_range_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "conv", "--epochs", "1", "--out", "o", "--lr-gamma", value])
    assert info.value.code == 2
    assert "--lr-gamma: expected a finite number in (0, 1]" in capsys.readouterr().err


def test_train_help_shows_the_defaults(capsys):
    from ttnet.experiments import RunConfig

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    d = RunConfig()
    for option, default in [("--lr-gamma", d.lr_gamma), ("--lr", d.lr), ("--ema", d.ema_decay),
                            ("--momentum", d.momentum), ("--batch-size", d.batch_size),
                            ("--lr-step", d.lr_step), ("--data", d.data)]:
        assert re.search(rf"{option} \S+ (?:(?! --).)*\(default {default}\)", text), option
