"""The PyTorch examples of README.md ("From NumPy to PyTorch") and docs/interop.md run as written.

They are fenced as ``py`` in the README (not ``python``), so that tests/test_readme.py, which runs
the README's ``python`` blocks without PyTorch too, leaves them to this file; it is skipped
without PyTorch (the ``torch`` extra).
"""

import pathlib
import re

import pytest

torch = pytest.importorskip("torch")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _section(text, title):
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def test_readme_pytorch_example_runs():
    section = _section((ROOT / "README.md").read_text(encoding="utf-8"), "From NumPy to PyTorch")
    blocks = re.findall(r"```py\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    model, module = namespace["model"], namespace["module"]
    # the weights that came back are torch's, after its SGD step
    state = module.state_dict()
    np = namespace["np"]
    np.testing.assert_array_equal(model.params["3.core0"], state["3.core0"].numpy())


def test_docs_interop_examples_run():
    text = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/interop.md", "exec"), {})
