"""The grading machinery of :mod:`ttnet.exercises`: result rows, the table, and the checks.

A :class:`Grader` collects one :class:`CheckRow` per check. The exercise definitions in
:mod:`ttnet.exercises._catalogue` call it: :meth:`Grader.call` runs the student's function
(catching and reporting any exception), :meth:`Grader.compare` compares an array with the
library's, :meth:`Grader.gradient_check` runs :func:`ttnet.gradcheck.check_function` with the
student's backward pass against the library's forward pass.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..gradcheck import check_function

__all__ = ["CheckRow", "ExerciseResult", "Grader", "Reported", "StudentError"]


@dataclass(frozen=True)
class CheckRow:
    """One check of one case.

    Attributes
    ----------
    case : str
        The generated input, e.g. ``"x (2, 3, 5, 5), k 3, stride 1, pad 1"``.
    check : str
        What was checked, e.g. ``"output"`` or ``"dx vs finite differences"``.
    error : float or None
        The measured error (None for checks that are not a number, such as shapes).
    tol : float or None
        The largest error that passes.
    ok : bool
    diagnosis : str
        Empty when ``ok``; otherwise one line saying what is wrong, e.g.
        ``"shape (2, 3), expected (3, 2)"`` or ``"NotImplementedError: <hint>"``.
    """

    case: str
    check: str
    error: float | None
    tol: float | None
    ok: bool
    diagnosis: str = ""


class ExerciseResult:
    """The outcome of :func:`ttnet.exercises.check`: a table of :class:`CheckRow`.

    ``result.passed`` is True when at least one check ran and every check passed;
    ``str(result)`` is the table that :func:`~ttnet.exercises.check` prints.
    """

    _columns = ("case", "check", "error", "tol", "ok", "diagnosis")

    def __init__(self, name: str, rows: Sequence[CheckRow]) -> None:
        self.name = name
        self.rows = list(rows)

    @property
    def passed(self) -> bool:
        """True if at least one check ran and all of them passed."""
        return bool(self.rows) and all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        """The rows that failed."""
        return [row for row in self.rows if not row.ok]

    def _cells(self) -> list[list[str]]:
        def number(value: float | None) -> str:
            return "-" if value is None else f"{value:.1e}"
        return [[row.case, row.check, number(row.error), number(row.tol),
                 "ok" if row.ok else "FAIL", row.diagnosis] for row in self.rows]

    def __str__(self) -> str:
        n_ok = sum(row.ok for row in self.rows)
        verdict = "PASSED" if self.passed else "FAILED"
        head = f"{self.name}: {verdict} ({n_ok}/{len(self.rows)} checks passed)"
        table = [list(self._columns)] + self._cells()
        widths = [max(len(line[k]) for line in table) for k in range(len(self._columns))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                 for line in table]
        return "\n".join([head] + lines)

    def __repr__(self) -> str:
        n_ok = sum(row.ok for row in self.rows)
        return (f"ExerciseResult({self.name!r}, passed={self.passed}, "
                f"{n_ok}/{len(self.rows)} checks)")

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self._columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                       for cells in self._cells())
        return (f"<p>{html.escape(str(self).splitlines()[0])}</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


class StudentError(Exception):
    """The student's function raised NotImplementedError: the remaining cases are skipped."""


class Reported(Exception):
    """The student's function failed inside a gradient check; its row is already recorded."""


def _exception_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _as_array(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None if it is not numeric."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _describe_result(value: Any) -> str:
    """What a student's function returned, for a diagnosis (None suggests a missing return)."""
    if value is None:
        return "None (a missing return?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return type(value).__name__


class Grader:
    """Collects the rows of one :func:`~ttnet.exercises.check` run."""

    def __init__(self) -> None:
        self.rows: list[CheckRow] = []

    def add(self, case: str, check: str, error: float | None, tol: float | None, ok: bool,
            diagnosis: str = "") -> bool:
        """Record one row; returns ``ok``."""
        self.rows.append(CheckRow(case, check, error, tol, bool(ok), "" if ok else diagnosis))
        return bool(ok)

    def call(self, case: str, func: Callable, *args: Any) -> tuple[bool, Any]:
        """Run ``func(*copies of args)``; on an exception record a failed row.

        Returns ``(ran, output)``. A ``NotImplementedError`` (an unfinished stub) is
        recorded once and raises :class:`StudentError` to skip the remaining cases.
        """
        try:
            return True, func(*copy.deepcopy(args))
        except NotImplementedError as exc:
            self.add(case, "runs", None, None, False, _exception_text(exc))
            raise StudentError from exc
        except Exception as exc:  # noqa: BLE001 - a student's bug is reported, not raised
            self.add(case, "runs", None, None, False, _exception_text(exc))
            return False, None

    def compare(self, case: str, check: str, got: Any, expected: np.ndarray,
                tol: float = 1e-10) -> bool:
        """``max |got − expected| / max |expected|`` (absolute if expected is 0) vs ``tol``."""
        expected = np.asarray(expected, dtype=np.float64)
        arr = _as_array(got)
        if arr is None:
            return self.add(case, check, None, tol, False,
                            f"returned {_describe_result(got)}, expected an array of shape "
                            f"{expected.shape}")
        if arr.shape != expected.shape:
            hint = " (transposed?)" if arr.shape == expected.shape[::-1] else ""
            return self.add(case, check, None, tol, False,
                            f"shape {arr.shape}, expected {expected.shape}{hint}")
        if not np.all(np.isfinite(arr)):
            return self.add(case, check, None, tol, False, "contains NaN or Inf")
        scale = float(np.max(np.abs(expected), initial=0.0))
        diff = np.abs(arr - expected)
        error = float(np.max(diff, initial=0.0)) / (scale if scale > 0 else 1.0)
        if error <= tol:
            return self.add(case, check, error, tol, True)
        diagnosis = _diagnose(arr, expected, diff)
        if getattr(got, "dtype", None) == np.float32:
            diagnosis = f"a float32 result (compute in float64); {diagnosis}"
        return self.add(case, check, error, tol, False, diagnosis)

    def gradient_check(self, case: str, forward: Callable, inputs: Mapping[str, np.ndarray],
                       backward: Callable, tol: float = 1e-7, max_entries: int = 60) -> bool:
        """Finite-difference check of ``backward`` against ``forward`` (float64).

        ``forward(*inputs) -> (out, cache)`` and ``backward(dout, cache) -> tuple of
        gradients``, as in :func:`ttnet.gradcheck.check_function`; one row per input.
        """
        try:
            result = check_function(forward, dict(inputs), backward, max_entries=max_entries,
                                    rng=0)
        except StudentError:
            raise
        except Reported:
            return False
        except NotImplementedError as exc:
            self.add(case, "gradients", None, tol, False, _exception_text(exc))
            raise StudentError from exc
        except Exception as exc:  # noqa: BLE001 - wrong shapes or a bug in the student's code
            return self.add(case, "gradients", None, tol, False, _exception_text(exc))
        ok = True
        for row in result.rows:
            diagnosis = ""
            if not row.max_error <= tol:
                diagnosis = (f"at index {row.index}: yours {row.analytic:.6g}, finite "
                             f"difference {row.numeric:.6g}")
                if row.numeric != 0 and np.isfinite(row.analytic):
                    diagnosis += f" (ratio {row.analytic / row.numeric:.3g})"
            ok &= self.add(case, f"d{row.name} vs finite differences", row.max_error, tol,
                           row.max_error <= tol, diagnosis)
        return ok


def _diagnose(got: np.ndarray, expected: np.ndarray, diff: np.ndarray) -> str:
    """One line on how ``got`` differs from ``expected`` (same shape)."""
    norm2 = float(np.sum(expected * expected))
    if norm2 > 0:
        factor = float(np.sum(got * expected)) / norm2
        if np.allclose(got, factor * expected, rtol=1e-6, atol=1e-9 * np.sqrt(norm2)):
            return f"off by a factor of {factor:.4g}"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(got, expected.T):
        return "the transpose of the expected result"
    if np.allclose(np.sort(got.ravel()), np.sort(expected.ravel())):
        return "the right values in the wrong places (an index order or reshape?)"
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    return f"worst at index {worst}: got {got[worst]:.6g}, expected {expected[worst]:.6g}"


def cores_ok(grader: Grader, case: str, got: Any, ndim: int, modes: Sequence[Any] | None = None
             ) -> list[np.ndarray] | None:
    """Check a list of TT cores that chain; record a row and return them as float64 arrays."""
    what = f"{ndim}-D cores"
    if not isinstance(got, (list, tuple)) or not got:
        grader.add(case, "cores chain", None, None, False,
                   f"returned {_describe_result(got)}, expected a list of {what}")
        return None
    cores = []
    for k, core in enumerate(got):
        arr = _as_array(core)
        if arr is None or arr.ndim != ndim:
            grader.add(case, "cores chain", None, None, False,
                       f"core {k} is {_describe_result(core)}, expected a {what[:-1]}")
            return None
        cores.append(arr)
    if modes is not None and len(cores) != len(modes):
        grader.add(case, "cores chain", None, None, False,
                   f"{len(cores)} cores, expected {len(modes)} (one per mode)")
        return None
    ranks = [c.shape[0] for c in cores] + [cores[-1].shape[-1]]
    bad = [k for k in range(len(cores) - 1) if cores[k].shape[-1] != cores[k + 1].shape[0]]
    if ranks[0] != 1 or ranks[-1] != 1 or bad:
        grader.add(case, "cores chain", None, None, False,
                   f"core shapes {[c.shape for c in cores]} do not chain with r_0 = r_d = 1")
        return None
    if modes is not None:
        got_modes = [c.shape[1:-1] if ndim == 4 else c.shape[1] for c in cores]
        if list(got_modes) != list(modes):
            grader.add(case, "cores chain", None, None, False,
                       f"core modes {got_modes}, expected {list(modes)}")
            return None
    grader.add(case, "cores chain", None, None, True)
    return cores
