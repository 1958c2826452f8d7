"""The README and the documentation site: short, linked, and nothing left unreachable.

``mkdocs build --strict`` (run by CI) checks the links between the site's pages; these tests
check what it does not: the README's own links and length, that every page is reachable from
the README, and the docstring conversion the API reference relies on.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def readme_links() -> list[str]:
    return [target for target in LINK.findall(README.read_text()) if "://" not in target]


def slug(heading: str) -> str:
    """A heading's anchor as MkDocs (and GitHub, for these headings) writes it."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[\s]+", "-", text).strip("-")


def anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {slug(h) for h in headings}


def test_readme_is_short() -> None:
    assert len(README.read_text()) < 10_000


def test_readme_says_nothing_internal() -> None:
    text = README.read_text()
    assert not re.search(r"\bissue \d", text, flags=re.IGNORECASE)
    assert not re.search(r"\bcommit [0-9a-f]{7,40}\b", text)


def test_readme_links_resolve() -> None:
    for target in readme_links():
        path, _, anchor = target.partition("#")
        page = README if not path else ROOT / path
        assert page.exists(), f"README links to missing {path}"
        if anchor:
            assert anchor in anchors(page), f"README links to missing anchor {target}"


def test_every_docs_page_is_linked_from_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in readme_links() if t[0] != "#"}
    pages = {p.resolve() for p in DOCS.rglob("*.md")}
    assert pages, "no documentation pages"
    assert pages <= linked, f"not linked from README: {sorted(map(str, pages - linked))}"


def test_slug_matches_mkdocs() -> None:
    assert slug("Without ../shared") == "without-shared"
    assert slug("Dutch: conll2002-nl") == "dutch-conll2002-nl"


@pytest.fixture(scope="module")
def rst():
    spec = importlib.util.spec_from_file_location("griffe_rst", DOCS / "griffe_rst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.rst_to_markdown


def test_roles_and_literals_become_code(rst) -> None:
    text = "Raise :class:`SchemeError`; see :func:`~nerkit.conll.schemes.split_tag` and ``B-PER``."
    assert rst(text) == "Raise `SchemeError`; see `nerkit.conll.schemes.split_tag` and `B-PER`."


def test_doctests_are_fenced_without_directives(rst) -> None:
    text = "Split.\n\n>>> f(1)  # doctest: +SKIP\n2\n\nAfter."
    assert rst(text) == "Split.\n\n```pycon\n>>> f(1)\n2\n```\n\nAfter."


def test_literal_blocks_are_fenced(rst) -> None:
    text = "The folder holds::\n\n    model.onnx\n      config.json\n\nThen more."
    assert rst(text) == "The folder holds:\n\n```\nmodel.onnx\n  config.json\n```\n\nThen more."


def test_a_second_pass_changes_nothing(rst) -> None:
    text = "A :mod:`x`::\n\n    code\n\n>>> 1 + 1\n2\n"
    once = rst(text)
    assert rst(once) == once
