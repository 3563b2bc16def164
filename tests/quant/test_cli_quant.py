"""ttnet quantize, eval of quantized files, train --bits --init-from, summary --bits."""

import json

import numpy as np
import pytest

from ttnet.cli import main
from ttnet.experiments import load_model
from ttnet.quant import QuantizedFileError, load_quantized, model_size, ptq

from ..helpers import small_data

TINY = ["--model", "tt-conv", "--width", "0.125", "--ranks", "2", "--data", "fashion-mnist-mini",
        "--subset", "100", "--batch-size", "50", "--no-progress"]


@pytest.fixture
def float_run(tmp_path, monkeypatch):
    small_data(monkeypatch, 100)
    out = tmp_path / "float"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    return out / "last.npz"


def test_quantize_then_eval_gives_the_ptq_model_and_round_trips(float_run, tmp_path, capsys):
    qpath = tmp_path / "q4.npz"
    assert main(["quantize", "--checkpoint", str(float_run), "--bits", "4", "--out",
                 str(qpath)]) == 0
    out = capsys.readouterr().out
    loaded_float = load_model(float_run)
    size = model_size(loaded_float["model"], 4).total
    assert f"model size {size:,} bytes at 4 bits" in out
    # the file's integers and scales rebuild exactly the PTQ of the float weights
    q = load_model(qpath)
    assert q["quantized_file"] and q["bits"] == 4
    ref = ptq(loaded_float["model"], 4, method="mse")
    for name in ref.params:
        np.testing.assert_array_equal(q["model"].params[name], ref.params[name])
    for name, (ints, _) in load_quantized(qpath).integers.items():
        assert ints.dtype == np.int8 and np.abs(ints).max() <= 7
    # same predictions through ttnet eval
    assert main(["eval", "--checkpoint", str(qpath)]) == 0
    out = capsys.readouterr().out
    assert "4-bit quantized weights file" in out
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    q["model"].eval()
    ref.eval()
    np.testing.assert_array_equal(q["model"](x), ref(x))
    # a quantized file is refused where a float checkpoint is needed, and vice versa
    assert main(["quantize", "--checkpoint", str(qpath), "--bits", "4", "--out",
                 str(tmp_path / "again.npz")]) == 1
    assert "--checkpoint" in capsys.readouterr().err
    with pytest.raises(QuantizedFileError, match="float ttnet checkpoint"):
        load_quantized(float_run)


def test_qat_fine_tuning_from_a_float_checkpoint(float_run, tmp_path, capsys):
    out = tmp_path / "qat"
    assert main(["train", *TINY, "--epochs", "1", "--bits", "3", "--quant-method", "mse",
                 "--init-from", str(float_run), "--lr", "0.01", "--out", str(out)]) == 0
    with open(out / "config.json", encoding="utf-8") as f:
        saved = json.load(f)["run"]["config"]
    assert saved["bits"] == 3 and saved["init"]["checkpoint"] == str(float_run)
    assert saved["quant_method"] == "mse"
    loaded = load_model(out / "last.npz")
    assert loaded["bits"] == 3
    assert type(loaded["model"][0]).__name__ == "QuantizedLayer"
    assert loaded["model"][0].config.method == "mse"
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(out / "last.npz")]) == 0
    assert "quantization-aware at 3 bits" in capsys.readouterr().out
    # another architecture for --init-from is refused naming the option
    assert main(["train", *[a if a != "2" else "3" for a in TINY], "--epochs", "1",
                 "--init-from", str(float_run), "--out", str(tmp_path / "other")]) == 1
    assert "--init-from" in capsys.readouterr().err
    assert main(["train", *TINY, "--epochs", "1", "--init-from", str(tmp_path / "none.npz"),
                 "--out", str(tmp_path / "x")]) == 1
    assert "--init-from" in capsys.readouterr().err


def test_quant_method_without_bits_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "tt-conv", "--epochs", "1", "--quant-method", "mse",
              "--out", "x"])
    assert info.value.code == 2
    assert "--quant-method is the scale rule of --bits" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["summary", "--model", "tt-conv", "--bits", "9"],
    ["summary", "--model", "tt-conv", "--bits", "1"],
    ["quantize", "--checkpoint", "x.npz", "--bits", "four", "--out", "y.npz"],
    ["train", "--model", "tt-conv", "--epochs", "1", "--bits", "0", "--out", "x"],
])
def test_bits_outside_2_to_8_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "argument --bits: expected an integer from 2 to 8" in capsys.readouterr().err


def test_summary_prints_sizes_at_k_bits(capsys):
    assert main(["summary", "--model", "tt-conv-tt-fc", "--width", "0.25", "--ranks", "4",
                 "--fc-ranks", "4", "--input-shape", "1,32,32", "--bits", "4"]) == 0
    out = capsys.readouterr().out
    from ttnet import models
    net = models.build("tt-conv-tt-fc", input_shape=(1, 32, 32), width=0.25, conv_ranks=4,
                       fc_ranks=4, rng=0)
    for size in (model_size(net), model_size(net, 4), model_size(net, dense_twin=True),
                 model_size(net, 4, dense_twin=True)):
        assert f"{size.total:,} B" in out
    assert "dense twin, float32" in out


def test_quantize_refuses_a_missing_checkpoint(tmp_path, capsys):
    assert main(["quantize", "--checkpoint", str(tmp_path / "none.npz"), "--bits", "4",
                 "--out", str(tmp_path / "q.npz")]) == 1
    err = capsys.readouterr().err
    assert "--checkpoint" in err and "does not exist" in err


def test_new_commands_have_help_with_an_example():
    import subprocess
    import sys

    for command in ("quantize", "export"):
        result = subprocess.run([sys.executable, "-m", "ttnet", command, "--help"],
                                capture_output=True, text=True, check=True)
        assert "Example: ttnet " + command in result.stdout
