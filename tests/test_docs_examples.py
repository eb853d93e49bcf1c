"""The Python examples in docs/api.md run as written, in order, in a folder holding one photo."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_api_page_has_examples():
    assert len(BLOCK.findall(DOC.read_text())) >= 5


def test_api_examples_run_in_order(tmp_path, monkeypatch, capsys):
    from veraretouch.io.sample import write_sample

    monkeypatch.chdir(tmp_path)
    write_sample(tmp_path / "photo.jpg")
    namespace: dict = {}
    for number, block in enumerate(BLOCK.findall(DOC.read_text()), start=1):
        try:
            exec(compile(block, f"docs/api.md block {number}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"docs/api.md block {number} failed: {type(error).__name__}: {error}\n{block}")
    assert (tmp_path / "out" / "photo.jpg").is_file() and (tmp_path / "out" / "photo.xmp").is_file()
    assert "lighting" in capsys.readouterr().out.lower()
