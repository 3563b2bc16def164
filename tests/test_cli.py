"""The command-line interface: ``ttnet`` and ``python -m ttnet``."""

import io
import re
import subprocess
import sys

import pytest

from ttnet import __version__
from ttnet.cli import main, tour


def test_tour_prints_ranks_errors_and_sizes():
    out = io.StringIO()
    tour(seed=0, out=out)
    text = out.getvalue()
    assert "ranks (1, 2, 2, 2, 2, 2, 1)" in text  # sin of a sum has TT-rank 2
    errors = [float(e) for e in re.findall(r"relative error (\S+),", text)]
    assert errors and errors[0] < 1e-9
    assert "(X + X).round().ranks (1, 4, 4, 4, 4, 4, 4, 4, 1)" in text


def test_main_defaults_to_the_tour(capsys):
    assert main([]) == 0
    assert "a tour of the tensor-train format" in capsys.readouterr().out


def test_python_dash_m_runs_and_reports_its_version():
    result = subprocess.run([sys.executable, "-m", "ttnet", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"ttnet {__version__}"


def test_unknown_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
