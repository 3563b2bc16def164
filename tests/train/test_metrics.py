"""metrics.json, metrics.csv and learning_curves.png."""

import csv
import json

import pytest

from ttnet.train import plot_learning_curves, read_metrics, write_metrics
from ttnet.train.metrics import COLUMNS


def history(n=3):
    return [{"epoch": k + 1, "lr": 0.1, "train_loss": 1.0 / (k + 1), "train_acc": 0.5 + 0.1 * k,
             "test_loss": 1.1 / (k + 1), "test_acc": 0.45 + 0.1 * k, "seconds": 1.5,
             "images_per_s": 100.0, "note": "extra keys go to JSON only"} for k in range(n)]


def test_json_and_csv(tmp_path):
    rows = history()
    write_metrics(tmp_path, rows)
    assert read_metrics(tmp_path / "metrics.json") == rows
    assert json.loads((tmp_path / "metrics.json").read_text()) == rows
    with open(tmp_path / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS and len(table) == 3
    assert float(table[1]["train_loss"]) == rows[1]["train_loss"]      # full precision


def test_png(tmp_path):
    plot_learning_curves(history(), tmp_path / "curves.png", title="run")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_errors(tmp_path):
    with pytest.raises(TypeError, match="history must be a list of dicts"):
        write_metrics(tmp_path, "epochs")
    with pytest.raises(TypeError, match=r"history\[0\] must be a dict"):
        write_metrics(tmp_path, [3])
    with pytest.raises(ValueError, match=r"history\[0\] lacks the keys \['seconds'"):
        write_metrics(tmp_path, [{k: 1 for k in COLUMNS if k != "seconds"}])
