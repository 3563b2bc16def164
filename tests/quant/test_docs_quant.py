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


def test_the_sizes_quoted_in_the_readme_are_computed():
    from ttnet import models
    from ttnet.quant import model_size

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    net = models.build("tt-conv-tt-fc", input_shape=(1, 32, 32), conv_ranks=16,
                       fc_ranks=(40, 30), rng=0)
    f32, q4 = model_size(net).total, model_size(net, 4).total
    dense = model_size(net, dense_twin=True).total
    assert f"{f32:,} bytes in float32 and {q4:,} bytes at 4 bits" in readme
    assert f"{dense / f32:.1f}× and {dense / q4:.1f}× smaller" in readme
    assert f"({dense:,} bytes)" in readme
