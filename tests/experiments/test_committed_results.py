"""The committed results of the paper-table suite re-evaluate to exactly what their table says.

``docs/results/paper-table/results.csv`` is written by ``ttnet reproduce --report``; every row
whose final weights were committed (``ROW/weights.npz``) must give the reported test accuracy when
evaluated again on the full Fashion-MNIST test set.
"""

import csv
import pathlib

import pytest

from ttnet.experiments import evaluate_checkpoint, get_suite

from ..data import requires_full_data

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "results" / "paper-table"


def _committed_rows():
    if not (RESULTS / "results.csv").is_file():
        return []
    with open(RESULTS / "results.csv", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f)
                if (RESULTS / row["row"] / "weights.npz").is_file()]


def test_results_csv_names_rows_of_the_suite_with_their_commands():
    suite = get_suite("paper-table")
    for row in _committed_rows():
        assert suite.row(row["row"]).family == row["family"]
        assert row["command"].startswith(("ttnet train ", "ttnet reproduce "))


@requires_full_data
@pytest.mark.parametrize("row", _committed_rows(), ids=lambda r: r["row"])
def test_committed_weights_reevaluate_to_the_table(row):
    result = evaluate_checkpoint(RESULTS / row["row"] / "weights.npz", data="fashion-mnist")
    assert f"{100 * result['accuracy']:.2f}" == f"{float(row['test_accuracy']):.2f}"
    assert result["epoch"] == int(row["epochs"])
