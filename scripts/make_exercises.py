"""Generate the student notebooks ``notebooks/exercises/`` from the solution notebooks.

usage: python scripts/make_exercises.py            # write notebooks/exercises/NN_name.ipynb
       python scripts/make_exercises.py --check    # exit 1 if they are not up to date (CI)

A solution notebook ``notebooks/NN_name.ipynb`` holds exercises as code cells of the form::

    def my_tt_svd(tensor, eps):
        '''...shapes...'''
        # BEGIN SOLUTION
        # HINT: one line that tells the student where to start
        ...the reference solution...
        # END SOLUTION

followed by a cell ``assert check("tt_svd", my_tt_svd).passed``. For every notebook that has
exercises, the student notebook is the same notebook with

* every block from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` replaced by
  ``raise NotImplementedError("<hint>")`` at the block's indentation;
* ``assert check(...).passed`` replaced by ``result = check(...)``, so that the student sees
  the table (and the notebook still runs to the end before every exercise is done);
* all outputs and execution counts cleared;
* an introduction cell in front (how to work through it) and a cell that moves to
  ``notebooks/`` so that the notebook's data paths resolve; relative links in the text get a
  ``../`` prefix.

The generated notebooks are not run by the test suite's notebook collection (the root
``conftest.py`` ignores ``notebooks/exercises``); ``tests/test_exercises.py`` checks that they
are up to date, that every solution passes its check and that every stub fails it with its hint.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OUT = NOTEBOOKS / "exercises"

BEGIN, END, HINT = "# BEGIN SOLUTION", "# END SOLUTION", "# HINT:"
_CHECK_LINE = re.compile(r"^assert (check\(.*\))\.passed\s*$")
_LINK = re.compile(r"\]\((?!https?:|#|mailto:|attachment:|/)([^)\s]+)\)")
_DEF = re.compile(r"^def (my_\w+)\(", re.MULTILINE)

INTRO = """\
# Exercises: {title}

*Generated from [`{source}`](../{source}) by `scripts/make_exercises.py`: edit the solution
notebook and regenerate, never this file.*

This is the notebook `{source}` with the solutions of its {n} exercise(s) taken out:
{names}.

**How to work through it.** Run the cells from the top. At each exercise, read the statement,
replace the line `raise NotImplementedError("...")` by your code (the message is a hint), run the
cell, then run the check cell below it. `check(name, my_function)` runs your function on several
generated inputs and prints one row per check: the case, what is checked, the error, the
tolerance, ok or FAIL, and what is wrong. An exercise is done when the first line says PASSED;
`result.passed` is then True. The rest of the notebook runs whether or not your exercises pass.
`ttnet.exercises.list_exercises()` lists every exercise of the course.
"""

CHDIR = """\
# the solution notebook's data paths are relative to notebooks/
import os

if os.path.basename(os.getcwd()) == "exercises":
    os.chdir("..")
"""


def strip_solutions(source: str, where: str) -> str:
    """Replace each ``# BEGIN SOLUTION`` … ``# END SOLUTION`` block by a stub raising the hint."""
    lines = source.split("\n")
    out: list[str] = []
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.strip() != BEGIN:
            if line.strip() in (END, HINT) or line.strip().startswith(HINT):
                raise ValueError(f"{where}: {line.strip()!r} outside a solution block")
            out.append(line)
            k += 1
            continue
        indent = line[:len(line) - len(line.lstrip())]
        hint_line = lines[k + 1].strip() if k + 1 < len(lines) else ""
        if not hint_line.startswith(HINT) or not hint_line[len(HINT):].strip():
            raise ValueError(f"{where}: the line after {BEGIN!r} must be '{HINT} <hint>'")
        hint = hint_line[len(HINT):].strip()
        try:
            end = next(j for j in range(k + 2, len(lines)) if lines[j].strip() == END)
        except StopIteration:
            raise ValueError(f"{where}: {BEGIN!r} without {END!r}") from None
        if any(lines[j].strip() == BEGIN for j in range(k + 1, end)):
            raise ValueError(f"{where}: nested {BEGIN!r}")
        out.append(f"{indent}raise NotImplementedError({hint!r})")
        k = end + 1
    return "\n".join(out)


def strip_asserts(source: str) -> str:
    """``assert check(...).passed`` -> ``result = check(...)``."""
    return "\n".join(_CHECK_LINE.sub(r"result = \1", line) for line in source.split("\n"))


def exercise_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names of the functions the student writes (``my_*``), in notebook order."""
    return [name for cell in nb.cells if cell.cell_type == "code" and BEGIN in cell.source
            for name in _DEF.findall(cell.source)]


def student_notebook(path: Path) -> nbformat.NotebookNode | None:
    """The student notebook of one solution notebook, or None if it has no exercises."""
    nb = nbformat.read(path, as_version=4)
    names = exercise_names(nb)
    if not names:
        return None
    student = copy.deepcopy(nb)
    for k, cell in enumerate(student.cells):
        where = f"{path.name}, cell {k}"
        if cell.cell_type == "code":
            cell.source = strip_asserts(strip_solutions(cell.source, where))
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        elif cell.cell_type == "markdown":
            cell.source = _LINK.sub(r"](../\1)", cell.source)
    title = nb.cells[0].source.splitlines()[0].lstrip("# ").strip() if nb.cells else path.stem
    intro = nbformat.v4.new_markdown_cell(INTRO.format(
        title=title, source=path.name, n=len(names),
        names=", ".join(f"`{name}`" for name in names)))
    intro.id = "exercises-intro"
    chdir = nbformat.v4.new_code_cell(CHDIR)
    chdir.id = "exercises-chdir"
    student.cells[:0] = [intro, chdir]
    nbformat.validate(student)
    return student


def render(nb: nbformat.NotebookNode) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def expected_files(notebooks: Path = NOTEBOOKS) -> dict[str, str]:
    """Generated file name -> its text, for every solution notebook with exercises."""
    files = {}
    for path in sorted(notebooks.glob("*.ipynb")):
        student = student_notebook(path)
        if student is not None:
            files[path.name] = render(student)
    return files


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def stale(notebooks: Path = NOTEBOOKS, out: Path = OUT) -> list[str]:
    """What differs between ``out`` and what the generator would write (empty: up to date)."""
    files = expected_files(notebooks)
    problems = []
    for name, text in files.items():
        target = out / name
        if not target.is_file():
            problems.append(f"{_shown(target)} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{_shown(target)} is out of date")
    for target in sorted(out.glob("*.ipynb")) if out.is_dir() else []:
        if target.name not in files:
            problems.append(f"{_shown(target)} has no solution notebook with exercises")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if notebooks/exercises/ is not up to date")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python scripts/make_exercises.py", file=sys.stderr)
            return 1
        print(f"notebooks/exercises/ is up to date ({len(expected_files())} notebooks)")
        return 0
    OUT.mkdir(exist_ok=True)
    files = expected_files()
    for name, text in files.items():
        target = OUT / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    for target in sorted(OUT.glob("*.ipynb")):
        if target.name not in files:
            target.unlink()
            print(f"removed {target.relative_to(ROOT)} (its solution notebook has no exercises)")
    print(f"{len(files)} student notebooks in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
