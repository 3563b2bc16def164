"""scripts/quantization_table.py end to end on a tiny network: the rows, the table and the plot."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from ttnet.cli import main as ttnet_main
from ttnet.experiments import load_model
from ttnet.quant import model_size

from ..helpers import load_script, small_data
from .test_cli_quant import TINY

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "quantization_table.py"


def _script():
    return load_script(SCRIPT, "quantization_table")


def test_table_has_every_method_and_bit_width_and_the_onnx_check(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    small_data(monkeypatch, 100)
    run = tmp_path / "float"
    assert ttnet_main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    results = tmp_path / "results"
    args = ["--checkpoint", f"tiny={run / 'last.npz'}", "--bits", "8", "3", "--qat-epochs", "1",
            "--runs", str(tmp_path / "qat"), "--results", str(results)]
    assert _script().main(args) == 0

    with open(results / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    got = {(r["method"], int(r["bits"])) for r in rows}
    assert got == {("float32", 32)} | {(m, b) for m in ("PTQ-max", "PTQ-mse", "QAT-max")
                                       for b in (8, 3)}
    model = load_model(run / "last.npz")["model"]
    for r in rows:
        bits = None if r["bits"] == "32" else int(r["bits"])
        assert int(r["bytes"]) == model_size(model, bits).total
        assert 0.0 <= float(r["accuracy"]) <= 1.0
    # the QAT fine-tunes are ordinary run directories, reused when the script runs again
    assert (tmp_path / "qat" / "tiny-qat3" / "last.npz").is_file()

    table = (results / "table.md").read_text(encoding="utf-8")
    assert table.startswith("# ")                        # a title: the docs site lists the page
    assert "| tiny | 3 |" in table and "PTQ-mse" in table and "ONNX Runtime" in table
    onnx = json.loads((results / "onnx.json").read_text(encoding="utf-8"))
    assert onnx["float"]["max_rel_logit_diff"] < 1e-4
    assert onnx["int8"]["top1_agreement"] >= 0.99
    assert abs(onnx["float"]["file_bytes"] - onnx["float"]["counted_bytes"]) < 20 * 1024
    assert (results / "accuracy_vs_size.png").stat().st_size > 1000
    assert not list(results.glob("*.onnx"))            # the exported models are not left behind


def test_ptq_mse_search_is_the_exhaustive_grid_search():
    """choose_qparams's 'mse' rule keeps the first t of MSE_GRID with the smallest error."""
    from ttnet.quant.core import MSE_GRID, _fake, _params_for_range, choose_qparams

    rng = np.random.default_rng(3)
    w = (rng.standard_t(3, size=(6, 40)) * 0.01).astype(np.float32)
    for symmetric in (True, False):
        qp = choose_qparams(w, 3, axis=0, method="mse", symmetric=symmetric)
        for row in range(w.shape[0]):
            x = w[row].astype(np.float64)
            errors = []
            for t in MSE_GRID:
                s, z = _params_for_range(np.array(t * x.min()), np.array(t * x.max()), 3,
                                         symmetric)
                fake = _fake(x, s, z, qp.qmin, qp.qmax)
                errors.append(((x - fake) ** 2).sum())
            t_best = MSE_GRID[int(np.argmin(errors))]
            s, z = _params_for_range(np.array(t_best * x.min()), np.array(t_best * x.max()), 3,
                                     symmetric)
            assert qp.scale[row, 0] == np.float32(s) and qp.zero_point[row, 0] == z
