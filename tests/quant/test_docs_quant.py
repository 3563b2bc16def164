"""docs/quantization.md: its Python examples (and the sizes they assert) run as written."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_python_examples_in_the_quantization_page_run():
    text = (ROOT / "docs" / "quantization.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, "docs/quantization.md", "exec"), {})


def test_the_ratios_quoted_in_the_page_follow_from_its_sizes():
    text = (ROOT / "docs" / "quantization.md").read_text(encoding="utf-8")
    assert f"{55_755_048 / 207_464:.1f}× smaller" in text
    assert f"against {55_755_048 / 1_355_112:.1f}× for the float32" in text
