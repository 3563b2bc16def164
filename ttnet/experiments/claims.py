"""The paper's two claims, decided from the finished rows of the ``paper-table`` suite.

Garipov et al. (2016) claim that

1. at equal whole-network compression, TT-conv is more accurate than the naive
   TT of the 4-D kernel (families ``tt-conv`` and ``naive-tt-conv``);
2. TT-conv + TT-FC compress the conv-fc network ~80× for a ~1.1-point drop
   (family ``tt-conv-tt-fc`` at the paper's 82.87×, against ``conv-fc``).

The rules, fixed before the runs finished and applied the same way to every
result:

* **Seed noise** of a compression level is the largest seed range
  (max − min test accuracy over seeds) of the two families compared there. A
  level counts only when both families have at least two seeds.
* **Claim 1**, per level: ``d`` = mean(TT-conv) − mean(naive). TT-conv is
  *ahead* if ``d`` > noise, the naive TT is ahead if ``d`` < −noise, otherwise
  the level is *within seed noise*. Over the levels: **supported** if TT-conv
  is ahead at half of them or more and the naive TT at none; **not supported**
  if the naive TT is ahead at half or more and TT-conv at none; otherwise
  **not distinguishable from seed noise**.
* **Claim 2**: ``drop`` = accuracy(conv-fc) − accuracy(tt-conv-tt-fc at ~80×).
  **Supported** if ``drop`` ≤ the paper's drop (1.1 points) + tolerance, where
  the tolerance is the largest seed range measured anywhere in the suite
  (at least :data:`MIN_TOLERANCE`, since these rows have one seed); **not
  supported** otherwise.

Until every row a claim needs has finished, its verdict is **incomplete** and
the evidence lists what there is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .registry import Suite

__all__ = ["MIN_TOLERANCE", "Verdict", "verdicts", "format_verdicts"]

#: Smallest tolerance (accuracy points) of claim 2: about the sampling error of a test accuracy
#: near 92 % on 10,000 images (√(0.92·0.08/10⁴) ≈ 0.27 points), doubled.
MIN_TOLERANCE = 0.5

CLAIM_1 = "TT-conv is more accurate than the naive TT-conv at equal compression"
CLAIM_2 = "TT-conv + TT-FC compress the whole network ~80x for a ~1.1-point drop"


@dataclass(frozen=True)
class Verdict:
    """One claim's verdict and the numbers that decide it (one line each)."""

    claim: str
    verdict: str
    evidence: tuple[str, ...]


def _by_target(suite: Suite, records: list[dict[str, Any]], family: str
               ) -> dict[float, list[float]]:
    """Test accuracies (%) of ``family``'s finished rows, by target compression."""
    targets = {row.name: row.target_compression for row in suite.rows}
    out: dict[float, list[float]] = {}
    for rec in records:
        if rec["family"] == family:
            out.setdefault(targets[rec["row"]], []).append(float(rec["test_accuracy"]))
    return out


def _planned(suite: Suite, family: str) -> list[float]:
    """The compression levels the suite plans for ``family``."""
    return sorted({row.target_compression for row in suite.rows
                   if row.family == family and row.target_compression is not None})


def _seed_range(values: list[float]) -> float:
    return max(values) - min(values)


def _claim_1(suite: Suite, records: list[dict[str, Any]]) -> Verdict:
    tt = _by_target(suite, records, "tt-conv")
    naive = _by_target(suite, records, "naive-tt-conv")
    levels = [t for t in _planned(suite, "tt-conv") if t in _planned(suite, "naive-tt-conv")]
    evidence, ahead = [], {"tt-conv": 0, "naive": 0, "noise": 0}
    complete = bool(levels)
    for level in levels:
        a, b = tt.get(level, []), naive.get(level, [])
        if len(a) < 2 or len(b) < 2:
            complete = False
            evidence.append(f"{level:.2f}x: seeds finished: TT-conv {len(a)}, naive {len(b)} "
                            f"(need 2 each)" + (f"; means so far {np.mean(a):.2f} vs "
                                                f"{np.mean(b):.2f}" if a and b else ""))
            continue
        d = float(np.mean(a) - np.mean(b))
        noise = max(_seed_range(a), _seed_range(b))
        side = "tt-conv" if d > noise else "naive" if d < -noise else "noise"
        ahead[side] += 1
        word = {"tt-conv": "TT-conv ahead", "naive": "naive TT ahead",
                "noise": "within seed noise"}[side]
        evidence.append(f"{level:.2f}x: TT-conv {np.mean(a):.2f} (seeds "
                        f"{', '.join(f'{v:.2f}' for v in a)}), naive {np.mean(b):.2f} (seeds "
                        f"{', '.join(f'{v:.2f}' for v in b)}): difference {d:+.2f}, seed noise "
                        f"{noise:.2f} -> {word}")
    if not complete:
        return Verdict(CLAIM_1, "incomplete", tuple(evidence))
    half = len(levels) / 2
    if ahead["tt-conv"] >= half and ahead["naive"] == 0:
        verdict = "supported"
    elif ahead["naive"] >= half and ahead["tt-conv"] == 0:
        verdict = "not supported"
    else:
        verdict = "not distinguishable from seed noise"
    return Verdict(CLAIM_1, verdict, tuple(evidence))


def _claim_2(suite: Suite, records: list[dict[str, Any]]) -> Verdict:
    base = _by_target(suite, records, "conv-fc")
    tt = _by_target(suite, records, "tt-conv-tt-fc")
    planned = _planned(suite, "tt-conv-tt-fc")
    ranges = [_seed_range(v) for fam in {r["family"] for r in records}
              for v in _by_target(suite, records, fam).values() if len(v) > 1]
    tolerance = max([MIN_TOLERANCE, *ranges])
    base_acc = float(np.mean(next(iter(base.values())))) if base else None
    evidence = [f"conv-fc baseline: {base_acc:.2f}" if base_acc is not None
                else "conv-fc baseline: not finished"]
    for level in sorted(planned, reverse=True):
        if level in tt:
            acc = float(np.mean(tt[level]))
            drop = f", drop {base_acc - acc:.2f}" if base_acc is not None else ""
            evidence.append(f"tt-conv-tt-fc at {level:.2f}x: {acc:.2f}{drop}")
        else:
            evidence.append(f"tt-conv-tt-fc at {level:.2f}x: not finished")
    top = max(planned) if planned else None
    if base_acc is None or top is None or top not in tt:
        return Verdict(CLAIM_2, "incomplete", tuple(evidence))
    drop = base_acc - float(np.mean(tt[top]))
    paper_drop = 1.1
    evidence.append(f"rule: drop at {top:.2f}x <= {paper_drop} + tolerance {tolerance:.2f} "
                    f"(largest seed range in the suite, at least {MIN_TOLERANCE})")
    verdict = "supported" if drop <= paper_drop + tolerance else "not supported"
    return Verdict(CLAIM_2, verdict, tuple(evidence))


def _check_records(suite: Any, records: Any) -> None:
    if not isinstance(suite, Suite):
        raise TypeError(f"suite must be a Suite (e.g. get_suite('paper-table')), got "
                        f"{type(suite).__name__}")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise TypeError(f"records must be a list of dicts (the rows of a report), got "
                        f"{type(records).__name__}")
    names = {row.name for row in suite.rows}
    for k, rec in enumerate(records):
        missing = [key for key in ("row", "family", "test_accuracy") if key not in rec]
        if missing:
            raise ValueError(f"records[{k}] must have the keys row, family and test_accuracy; "
                             f"it lacks {', '.join(missing)}")
        if rec["row"] not in names:
            raise ValueError(f"records[{k}] names row {rec['row']!r}, which suite "
                             f"{suite.name!r} does not have")


def verdicts(suite: Suite, records: list[dict[str, Any]]) -> list[Verdict]:
    """The verdict on each claim the suite has rows for (none for other suites).

    ``records`` are :func:`~ttnet.experiments.reproduce.write_report`'s rows
    (``row``, ``family``, ``test_accuracy`` in %, ...).

    Raises
    ------
    TypeError
        ``suite`` is not a :class:`~ttnet.experiments.registry.Suite`, or ``records`` is not a
        list of dicts.
    ValueError
        A record lacks ``row``, ``family`` or ``test_accuracy``, or names a row the suite
        does not have.
    """
    _check_records(suite, records)
    out = []
    if set(_planned(suite, "tt-conv")) & set(_planned(suite, "naive-tt-conv")):
        out.append(_claim_1(suite, records))
    if _planned(suite, "tt-conv-tt-fc") and any(r.family == "conv-fc" for r in suite.rows):
        out.append(_claim_2(suite, records))
    return out


def format_verdicts(found: list[Verdict]) -> str:
    """Markdown: one paragraph per claim, its verdict in bold, the evidence as a list."""
    if not isinstance(found, list) or not all(isinstance(v, Verdict) for v in found):
        raise TypeError(f"found must be a list of Verdict (from verdicts()), got "
                        f"{type(found).__name__}")
    lines = ["## The claims", "", "Rules: `ttnet/experiments/claims.py` (module docstring).", ""]
    for number, v in enumerate(found, 1):
        lines += [f"**Claim {number}: {v.claim}: {v.verdict}.**", ""]
        lines += [f"- {e}" for e in v.evidence] + [""]
    return "\n".join(lines)
