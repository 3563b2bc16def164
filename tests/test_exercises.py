"""Graded exercises: student notebooks up to date, solutions pass, stubs and wrong answers fail.

The solutions are taken from the solution notebooks' cells (the code between ``# BEGIN SOLUTION``
and ``# END SOLUTION`` is what a teacher reads), the stubs from the generated notebooks in
``notebooks/exercises/``; both are exec'd and graded by :func:`ttnet.exercises.check`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from ttnet.exercises import EXERCISES, ExerciseResult, check, list_exercises
from .helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
gen = load_script(ROOT / "scripts" / "make_exercises.py", "make_exercises")

_DEF = re.compile(r"^def my_(\w+)\(", re.MULTILINE)


def _cells(path: Path, marker: str) -> dict[str, str]:
    """name -> source of the code cells of ``path`` that define ``my_<name>`` and hold marker."""
    nb = nbformat.read(path, as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and marker in cell.source:
            for name in _DEF.findall(cell.source):
                assert name not in found, f"{path.name}: my_{name} is defined twice"
                found[name] = cell.source
    return found


def _solutions() -> dict[str, tuple[str, str]]:
    """name -> (notebook stem, cell source) over every solution notebook."""
    out = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for name, source in _cells(path, gen.BEGIN).items():
            out[name] = (path.stem, source)
    return out


SOLUTIONS = _solutions()


def _function(source: str, name: str):
    namespace: dict = {}
    exec(compile(source, f"<exercise {name}>", "exec"), namespace)
    return namespace[f"my_{name}"]


def _solution(name: str):
    return _function(SOLUTIONS[name][1], name)


# ------------------------------------------------------------------ the notebooks
def test_generated_notebooks_are_up_to_date():
    assert gen.stale() == [], "run: python scripts/make_exercises.py"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_exercises.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_check_fails_on_a_stale_notebook(tmp_path):
    out = tmp_path / "exercises"
    out.mkdir()
    files = gen.expected_files()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    assert gen.stale(out=out) == []
    first = sorted(files)[0]
    (out / first).write_text(files[first].replace("NotImplementedError", "ValueError", 1),
                             encoding="utf-8")
    (out / "99_orphan.ipynb").write_text("{}", encoding="utf-8")
    problems = gen.stale(out=out)
    assert any(first in p and "out of date" in p for p in problems), problems
    assert any("99_orphan" in p for p in problems), problems


def test_every_exercise_is_in_its_notebook():
    assert len(EXERCISES) >= 12
    assert sorted(SOLUTIONS) == sorted(EXERCISES)
    for name, exercise in EXERCISES.items():
        stem, _ = SOLUTIONS[name]
        assert stem == exercise.notebook, f"{name} is in {stem}, EXERCISES says {exercise.notebook}"
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        sources = [c.source for c in nb.cells if c.cell_type == "code"]
        assert any(f'assert check("{name}", my_{name}).passed' in s for s in sources), \
            f"{stem} does not assert the check of {name}"


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_solution_passes_its_check(name):
    result = check(name, _solution(name), verbose=False)
    assert result.passed, str(result)
    assert len(result.rows) >= 4              # several cases, not one


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_stub_fails_its_check_with_its_hint(name):
    stem = EXERCISES[name].notebook
    stubs = _cells(ROOT / "notebooks" / "exercises" / f"{stem}.ipynb", "raise NotImplementedError(")
    assert name in stubs, f"the student notebook {stem} has no stub for {name}"
    assert gen.BEGIN not in stubs[name] and gen.END not in stubs[name]
    hint = re.search(r"# HINT:(.*)", SOLUTIONS[name][1]).group(1).strip()
    result = check(name, _function(stubs[name], name), verbose=False)
    assert not result.passed
    assert f"NotImplementedError: {hint}" in str(result)
    student_nb = (ROOT / "notebooks" / "exercises" / f"{stem}.ipynb").read_text(encoding="utf-8")
    assert f"assert check(\\\"{name}\\\"" not in student_nb
    assert f"result = check(\\\"{name}\\\", my_{name})" in student_nb


# ------------------------------------------------------------------ wrong answers are caught
def _wrap(name, change):
    solution = _solution(name)
    return lambda *args: change(solution(*args), *args)


WRONG = [
    ("im2col", lambda out, *a: out.T, "(transposed?)"),
    ("col2im", lambda out, *a: out / 2, "off by a factor of 0.5"),
    ("conv2d_backward", lambda out, *a: (out[0], 2 * out[1], out[2]), "ratio 2"),
    ("conv2d_backward", lambda out, *a: (out[0], out[1], -out[2]), "dbias vs finite differences"),
    ("maxpool2d_backward", lambda out, *a: np.full_like(out, out.mean()), "dx vs finite"),
    ("sgd_momentum_ema_step",                                # the average from the old param
     lambda out, p, g, v, s, lr, mu, decay: (out[0], out[1], decay * s + (1 - decay) * p),
     "new average"),
    ("tt_init_std", lambda out, *a: out ** 2, "std"),
    ("tt_matvec", lambda out, *a: out[::-1], "wrong places"),
    ("tt_matvec", lambda out, *a: out + np.arange(out.size) / 1e3, "worst at index"),
    ("tt_linear_forward", lambda out, *a: 3 * out, "off by a factor of 3"),
    ("tt_linear_backward", lambda out, *a: (out[0], [0.5 * out[1][0]] + list(out[1][1:])),
     "dcore0 vs finite differences"),
    ("tt_conv_kernel_reshape", lambda out, *a: out.reshape(out.shape[::-1]).T, "wrong places"),
    ("naive_kernel_reshape", lambda out, *a: None, "None (a missing return?)"),
    ("tt_conv_sequential_forward", lambda out, *a: out[:, ::-1], "FAIL"),
    ("tt_conv_sequential_backward", lambda out, *a: (out[0] * 1.001, out[1]),
     "dx vs finite differences"),
    ("fake_quantize", lambda out, w, bits: np.asarray(w), "FAIL"),
    ("tt_linear_forward", lambda out, *a: out.astype(np.float32), "a float32 result"),
]


@pytest.mark.parametrize("name, change, expected", WRONG,
                         ids=[f"{w[0]}-{k}" for k, w in enumerate(WRONG)])
def test_a_wrong_answer_fails_with_a_diagnosis(name, change, expected):
    result = check(name, _wrap(name, change), verbose=False)
    assert not result.passed
    assert expected in str(result), str(result)
    assert all(row.diagnosis for row in result.failures)


def test_tt_svd_without_truncation_fails_the_rank_check():
    def no_truncation(A, eps):                      # exact: eps ignored
        return _solution("tt_svd")(A, 0.0)
    result = check("tt_svd", no_truncation, verbose=False)
    assert not result.passed
    assert {row.check for row in result.failures} == {"ranks <= the library's"}


def test_tt_round_that_does_not_orthogonalise_fails():
    def truncate_only(cores, eps):                  # the left-to-right sweep alone
        cores = [np.array(c) for c in cores]
        delta = eps * np.sqrt(np.sum(_full(cores) ** 2)) / np.sqrt(len(cores) - 1)
        for k in range(len(cores) - 1):
            r0, n, r1 = cores[k].shape
            U, s, Vt = np.linalg.svd(cores[k].reshape(r0 * n, r1), full_matrices=False)
            tail = np.sqrt(np.cumsum(s[::-1] ** 2))[::-1]
            r = max(1, int(np.sum(tail > delta)))
            cores[k] = U[:, :r].reshape(r0, n, r)
            cores[k + 1] = np.einsum("ab,bnc->anc", s[:r, None] * Vt[:r], cores[k + 1])
        return cores
    result = check("tt_round", truncate_only, verbose=False)
    assert not result.passed, str(result)


def _full(cores):
    out = cores[0]
    for core in cores[1:]:
        out = np.tensordot(out, core, axes=(-1, 0))
    return out


def test_an_exception_is_reported_not_raised():
    result = check("im2col", lambda *args: 1 / 0, verbose=False)
    assert not result.passed
    assert len(result.rows) == 5                    # every case ran and failed
    assert all("ZeroDivisionError: division by zero" == row.diagnosis for row in result.rows)


def test_a_stub_is_reported_once_and_the_rest_skipped():
    def stub(*args):
        raise NotImplementedError("start from the unfolding")
    result = check("tt_svd", stub, verbose=False)
    assert [row.check for row in result.rows] == ["runs", "skipped"]
    assert result.rows[0].diagnosis == "NotImplementedError: start from the unfolding"


def test_the_inputs_are_copies():
    def in_place(param, grad, velocity, average, lr, momentum, decay):
        velocity *= momentum                          # changes its arguments in place
        velocity += grad
        param -= lr * velocity
        average *= decay
        average += (1 - decay) * param
        return param, velocity, average
    assert check("sgd_momentum_ema_step", in_place, verbose=False).passed


# ------------------------------------------------------------------ the interface
def test_check_prints_the_table(capsys):
    result = check("naive_kernel_reshape", lambda k: k.transpose(2, 3, 1, 0))
    printed = capsys.readouterr().out
    assert printed.strip() == str(result).strip()
    assert printed.startswith("naive_kernel_reshape: PASSED (4/4 checks passed)")
    assert printed.splitlines()[1].split() == ["case", "check", "error", "tol", "ok", "diagnosis"]
    assert isinstance(result, ExerciseResult) and "passed=True" in repr(result)
    assert "<table>" in result._repr_html_()


@pytest.mark.parametrize("name, func, exc, words", [
    ("tt_svdd", len, ValueError, ("name", "'tt_svdd'", "tt_svd, tt_round")),
    (None, len, TypeError, ("name", "NoneType")),
    ("tt_svd", None, TypeError, ("func", "NoneType")),
    ("tt_svd", np.zeros(3), TypeError, ("func", "ndarray")),
])
def test_bad_name_or_func_raise_naming_the_argument(name, func, exc, words):
    with pytest.raises(exc) as info:
        check(name, func)
    for word in words:
        assert word in str(info.value)


def test_list_exercises(capsys):
    infos = list_exercises()
    printed = capsys.readouterr().out.splitlines()
    assert len(infos) == len(EXERCISES) == len(printed) >= 12
    for info, line in zip(infos, printed):
        assert line.split()[:2] == [info.name, info.notebook]
        assert (ROOT / "notebooks" / f"{info.notebook}.ipynb").is_file()
        assert info.description and info.signature and info.checked_by
    assert list_exercises(verbose=False) == infos and capsys.readouterr().out == ""


# ------------------------------------------------------------------ the generator
def test_strip_solutions_keeps_the_indentation_and_the_hint():
    source = ("import numpy as np\n\n\ndef my_f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n"
              "    # HINT: add 'one'\n    y = x + 1\n    return y\n    # END SOLUTION\n")
    assert gen.strip_solutions(source, "test") == (
        "import numpy as np\n\n\ndef my_f(x):\n    '''doc'''\n"
        "    raise NotImplementedError(\"add 'one'\")\n")
    assert gen.strip_asserts('assert check("f", my_f).passed') == 'result = check("f", my_f)'


@pytest.mark.parametrize("source, words", [
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "HINT"),
    ("# BEGIN SOLUTION\n# HINT:\nx = 1\n# END SOLUTION\n", "HINT"),
    ("# BEGIN SOLUTION\n# HINT: h\nx = 1\n", "without"),
    ("x = 1\n# END SOLUTION\n", "outside"),
])
def test_strip_solutions_rejects_malformed_blocks(source, words):
    with pytest.raises(ValueError, match=words):
        gen.strip_solutions(source, "cell 3")


def test_the_student_notebook_has_an_intro_and_no_outputs():
    for name in gen.expected_files():
        nb = nbformat.read(ROOT / "notebooks" / "exercises" / name, as_version=4)
        assert nb.cells[0].cell_type == "markdown"
        assert "How to work through it" in nb.cells[0].source
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code")
        text = "".join(c.source for c in nb.cells)
        assert gen.BEGIN not in text and gen.HINT not in text


# ------------------------------------------------------------------ the docs
def test_the_docs_page_lists_every_exercise_and_its_example_runs():
    text = (ROOT / "docs" / "exercises.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `([^`]+)`", text, flags=re.MULTILINE)
    assert [(n, e.notebook, e.signature) for n, e in EXERCISES.items()] == rows
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/exercises.md", "exec"), {})
