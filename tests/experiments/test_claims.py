"""The verdicts on the paper's two claims, from synthetic report rows (ttnet.experiments.claims)."""

import pytest

from ttnet.experiments import get_suite
from ttnet.experiments.claims import MIN_TOLERANCE, format_verdicts, verdicts

SUITE = get_suite("paper-table")
LEVELS = (2.02, 2.90, 4.02)


def _records(accuracies):
    """Report rows from {row name: accuracy %}; family from the suite."""
    family = {row.name: row.family for row in SUITE.rows}
    return [{"row": name, "family": family[name], "test_accuracy": acc}
            for name, acc in accuracies.items()]


def _claim_1_rows(tt, naive):
    """tt, naive: {level: (seed 0, seed 1)} accuracies."""
    out = {}
    for level in LEVELS:
        for seed in (0, 1):
            out[f"tt-conv-{level:.2f}x-s{seed}"] = tt[level][seed]
            out[f"naive-tt-conv-{level:.2f}x-s{seed}"] = naive[level][seed]
    return out


def _verdict(accuracies, claim):
    found = {v.claim.split()[0] + str(i): v for i, v in enumerate(verdicts(SUITE, _records(
        accuracies)))}
    return list(found.values())[claim - 1]


@pytest.mark.parametrize("tt, naive, expected", [
    # ahead by more than the seed range everywhere
    ({l: (91.0, 91.2) for l in LEVELS}, {l: (90.0, 90.3) for l in LEVELS}, "supported"),
    # naive ahead everywhere
    ({l: (90.0, 90.3) for l in LEVELS}, {l: (91.0, 91.2) for l in LEVELS}, "not supported"),
    # differences inside the seed ranges
    ({l: (90.0, 91.0) for l in LEVELS}, {l: (90.2, 90.9) for l in LEVELS},
     "not distinguishable from seed noise"),
    # ahead at two levels, naive ahead at the third: conflicting
    ({2.02: (91.0, 91.1), 2.90: (91.0, 91.1), 4.02: (89.0, 89.1)},
     {l: (90.0, 90.1) for l in LEVELS}, "not distinguishable from seed noise"),
    # ahead at two levels, within noise at the third
    ({2.02: (91.0, 91.1), 2.90: (91.0, 91.1), 4.02: (90.0, 90.5)},
     {l: (90.0, 90.4) for l in LEVELS}, "supported"),
])
def test_claim_1_rules(tt, naive, expected):
    v = _verdict(_claim_1_rows(tt, naive), 1)
    assert v.verdict == expected
    assert len(v.evidence) == 3 and all("seed noise" in e for e in v.evidence)


def test_claim_1_is_incomplete_until_both_seeds_of_every_level_finish():
    rows = _claim_1_rows({l: (91.0, 91.2) for l in LEVELS}, {l: (90.0, 90.3) for l in LEVELS})
    del rows["naive-tt-conv-2.90x-s1"]
    v = _verdict(rows, 1)
    assert v.verdict == "incomplete"
    assert any("naive 1 (need 2 each)" in e for e in v.evidence)
    assert verdicts(SUITE, [])[0].verdict == "incomplete"


def test_claim_2_uses_the_largest_seed_range_as_tolerance():
    rows = {"conv-fc-s0": 92.0, "tt-conv-tt-fc-82.87x-s0": 92.0 - 1.1 - MIN_TOLERANCE,
            "tt-conv-tt-fc-41.65x-s0": 91.5}
    assert _verdict(rows, 2).verdict == "supported"
    rows["tt-conv-tt-fc-82.87x-s0"] -= 0.01
    assert _verdict(rows, 2).verdict == "not supported"
    # a seed range of 1.0 somewhere in the suite widens the tolerance
    rows.update({"tt-conv-4.02x-s0": 90.0, "tt-conv-4.02x-s1": 91.0})
    v = _verdict(rows, 2)
    assert v.verdict == "supported" and "tolerance 1.00" in v.evidence[-1]
    assert "drop 1.61" in " ".join(v.evidence)


def test_claim_2_is_incomplete_without_the_baseline_or_the_80x_row():
    assert _verdict({"tt-conv-tt-fc-82.87x-s0": 91.0}, 2).verdict == "incomplete"
    v = _verdict({"conv-fc-s0": 92.0, "tt-conv-tt-fc-41.65x-s0": 91.0}, 2)
    assert v.verdict == "incomplete" and "82.87x: not finished" in " ".join(v.evidence)


def test_the_quick_suite_has_no_claims_and_the_markdown_names_each_verdict():
    assert verdicts(get_suite("quick"), []) == []
    text = format_verdicts(verdicts(SUITE, _records({"conv-fc-s0": 92.0})))
    assert "**Claim 1:" in text and "**Claim 2:" in text and text.count("incomplete") == 2


@pytest.mark.parametrize("suite, records, exc, match", [
    ("paper-table", [], TypeError, "suite must be a Suite"),
    (SUITE, ({"row": "conv-s0"},), TypeError, "records must be a list of dicts"),
    (SUITE, [{"row": "conv-s0", "family": "conv"}], ValueError,
     r"records\[0\] must have the keys .* lacks test_accuracy"),
    (SUITE, [{"row": "nope", "family": "conv", "test_accuracy": 90.0}], ValueError,
     "names row 'nope', which suite 'paper-table' does not have"),
])
def test_verdicts_reject_bad_arguments(suite, records, exc, match):
    with pytest.raises(exc, match=match):
        verdicts(suite, records)


def test_format_verdicts_rejects_anything_but_verdicts():
    with pytest.raises(TypeError, match="found must be a list of Verdict"):
        format_verdicts(["supported"])
