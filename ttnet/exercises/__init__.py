"""Graded exercises: check a function you wrote against the library.

The notebooks hold exercises: a function to write (``my_tt_svd``, ``my_im2col``, ...) with the
reference solution between ``# BEGIN SOLUTION`` and ``# END SOLUTION``.
``scripts/make_exercises.py`` turns the notebooks into student notebooks
(``notebooks/exercises/``) in which every solution is replaced by
``raise NotImplementedError("<hint>")``. :func:`check` grades a function on several
generated cases (seeded random inputs of a few shapes and an edge case or two): against the
library's result, and, where a backward pass is asked, by a float64 finite-difference gradient
check (:func:`ttnet.gradcheck.check_function`) of the student's backward pass against the
library's forward pass. It prints a table and returns an :class:`ExerciseResult`; a wrong answer
or an exception in the student's function is reported in the table, never raised.

Example
-------
>>> import numpy as np
>>> from ttnet.exercises import check
>>> def my_naive_kernel_reshape(kernel):
...     return kernel.transpose(2, 3, 1, 0)            # (S, C, l, l) -> (l, l, C, S)
>>> check("naive_kernel_reshape", my_naive_kernel_reshape, verbose=False).passed
True
>>> check("naive_kernel_reshape", lambda k: k.transpose(3, 2, 1, 0), verbose=False).passed
False

``list_exercises()`` prints the exercises with their notebooks (docs/exercises.md).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ._catalogue import EXERCISES, Exercise
from ._grader import CheckRow, ExerciseResult, Grader, StudentError

__all__ = ["check", "list_exercises", "ExerciseInfo", "ExerciseResult", "CheckRow", "EXERCISES"]


class ExerciseInfo(NamedTuple):
    """One line of :func:`list_exercises`."""

    name: str
    notebook: str
    description: str
    signature: str
    checked_by: str


def _check_name(name: Any) -> Exercise:
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of an exercise (a str), got "
                        f"{type(name).__name__}; valid names: {', '.join(EXERCISES)}")
    if name not in EXERCISES:
        raise ValueError(f"name must be one of the exercises {', '.join(EXERCISES)}; "
                         f"got {name!r}")
    return EXERCISES[name]


def check(name: str, func: Callable, *, verbose: bool = True) -> ExerciseResult:
    """Grade the student's function ``func`` for the exercise ``name``.

    Runs ``func`` on the exercise's generated cases and compares its results with the
    library's (or, for a backward pass, checks its gradients by finite differences against
    the library's forward pass). Every call gets copies of the inputs, so ``func`` may change
    its arguments in place.

    Parameters
    ----------
    name : str
        One of :func:`list_exercises`, e.g. ``"tt_svd"``.
    func : callable
        The student's function, with the signature of the exercise (``list_exercises()``
        shows it, e.g. ``tt_svd(tensor, eps) -> list of cores (r_{k-1}, n_k, r_k)``).
    verbose : bool
        Print the table (default). The result prints the same table with ``print(result)``.

    Returns
    -------
    ExerciseResult
        ``.passed`` is True if every check passed; ``.rows`` holds one
        :class:`CheckRow` per check (case, what is checked, error, tolerance, ok, a
        one-line diagnosis). An exception raised by ``func`` becomes a failed row with
        the exception's message (for the stubs, ``NotImplementedError: <hint>``, after
        which the remaining cases are skipped).

    Raises
    ------
    ValueError
        If ``name`` is not an exercise (the message lists the valid names).
    TypeError
        If ``name`` is not a str or ``func`` is not callable.
    """
    exercise = _check_name(name)
    if not callable(func):
        raise TypeError(f"func must be a callable (the function you wrote for {name!r}), got "
                        f"{type(func).__name__}")
    if not isinstance(verbose, bool):
        raise TypeError(f"verbose must be a bool, got {type(verbose).__name__}")
    grader = Grader()
    try:
        exercise.grade(func, grader)
    except StudentError:
        grader.add("(remaining cases)", "skipped", None, None, False,
                   f"{name} is not written yet: replace the raise NotImplementedError line")
    result = ExerciseResult(name, grader.rows)
    if verbose:
        print(result)
    return result


def list_exercises(*, verbose: bool = True) -> list[ExerciseInfo]:
    """The exercises: name, notebook, one-line description, signature, how it is checked.

    Parameters
    ----------
    verbose : bool
        Print a table of name, notebook and description (default).

    Returns
    -------
    list of ExerciseInfo, in notebook order.
    """
    if not isinstance(verbose, bool):
        raise TypeError(f"verbose must be a bool, got {type(verbose).__name__}")
    infos = [ExerciseInfo(e.name, e.notebook, e.description, e.signature, e.checked_by)
             for e in EXERCISES.values()]
    if verbose:
        w1 = max(len(i.name) for i in infos)
        w2 = max(len(i.notebook) for i in infos)
        print("\n".join(f"{i.name.ljust(w1)}  {i.notebook.ljust(w2)}  {i.description}"
                        for i in infos))
    return infos
