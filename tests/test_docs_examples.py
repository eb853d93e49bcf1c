"""The Python examples in docs/api.md run as written, in order, in a folder holding one photo; every
veraretouch name that README.md and docs/ import or mention exists."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"
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


FROM_IMPORT = re.compile(r"^\s*from (veraretouch[\w.]*) import \(?([\w, ]+)\)?", re.MULTILINE)
DOTTED_NAME = re.compile(r"(?<![\w./-])(veraretouch(?:\.[A-Za-z_]\w*)+)")


def resolve(dotted: str) -> object:
    """The object a dotted name means: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def documented_names(text: str) -> list[str]:
    names = [f"{module}.{name.strip()}" for module, names in FROM_IMPORT.findall(text)
             for name in names.split(",") if name.strip()]
    return names + DOTTED_NAME.findall(text)


def test_every_name_the_docs_import_or_mention_exists():
    """Moving code (issue 16) must not strand a reader: ``from veraretouch.x import y`` lines and
    dotted names such as ``veraretouch.formats.cube.write_cube`` in README.md and docs/*.md resolve."""
    missing, count = [], 0
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in documented_names(page.read_text()):
            count += 1
            try:
                resolve(name)
            except (ImportError, AttributeError) as error:
                missing.append(f"{page.name}: {name} ({error})")
    assert count >= 30 and not missing, "\n".join(missing)


def test_the_docs_name_check_sees_a_stale_name():
    text = "from veraretouch.formats import read_plan\nsee `veraretouch.plan.files.read_plan` and veraretouch.nowhere.x"
    names = documented_names(text)
    assert set(names) == {"veraretouch.formats.read_plan", "veraretouch.formats", "veraretouch.plan.files.read_plan",
                          "veraretouch.nowhere.x"}
    resolve("veraretouch.plan.files.read_plan")
    for stale in ("veraretouch.formats.read_plan", "veraretouch.nowhere.x"):
        with pytest.raises((ImportError, AttributeError)):
            resolve(stale)

