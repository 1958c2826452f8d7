"""A Griffe extension: nerkit's reStructuredText docstrings as Markdown for mkdocstrings.

nerkit's docstrings are written for ``help()`` and doctest: Sphinx roles (``:class:`Tagger```),
double-backtick literals, ``>>>`` examples and ``::`` literal blocks. Markdown reads a ``>>>``
line as three nested quotes and shows roles as raw text, so this extension rewrites each
docstring once, after Griffe has loaded it: roles and double backticks become code spans, and
doctest and literal blocks become fenced code. The source files are left as they are.

Used from ``mkdocs.yml`` (mkdocstrings' ``extensions`` option); ``tests/test_docs.py`` tests
:func:`rst_to_markdown`.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|term):`~?([^`]+)`")
LITERAL = re.compile(r"``(.+?)``")
DIRECTIVE = re.compile(r"\s*# doctest:.*$")  # for the test runner, not the reader


def _inline(line: str) -> str:
    """Roles and ``double backticks`` to Markdown code spans."""
    line = ROLE.sub(lambda m: f"`{m.group(1)}`", line)
    return LITERAL.sub(lambda m: f"`{m.group(1)}`", line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_to_markdown(text: str) -> str:
    """Rewrite one docstring: inline markup to code spans, doctests and ``::`` blocks fenced.

    A doctest block runs from a ``>>>`` line to the next blank line (its ``# doctest:``
    directives dropped); a literal block is the indented paragraph after a line ending in
    ``::`` (that line then ends in one colon). Text inside fenced blocks is kept as written, so
    a second pass changes nothing.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):  # already fenced (a second pass): keep as is
            out.append(line)
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                out.append(lines[i])
                i += 1
            if i < len(lines):
                out.append(lines[i])
                i += 1
            continue
        if line.lstrip().startswith(">>>"):
            margin = line[: _indent(line)]
            block = []
            while i < len(lines) and lines[i].strip():
                line = lines[i][len(margin) :] if lines[i].startswith(margin) else lines[i]
                block.append(DIRECTIVE.sub("", line))
                i += 1
            out += [f"{margin}```pycon", *(margin + b for b in block), f"{margin}```"]
            continue
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            stripped = line.rstrip()[:-2].rstrip()
            out.append(_inline(stripped + ":") if stripped else "")
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            margin = _indent(lines[i]) if i < len(lines) else 0
            if margin <= _indent(line):  # no indented block follows: leave the text as it is
                continue
            block = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) >= margin):
                block.append(lines[i][margin:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            pad = " " * _indent(line)
            out += ["", f"{pad}```", *(pad + b if b else "" for b in block), f"{pad}```", ""]
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out)


try:
    from griffe import Extension, Object
except ImportError:  # the conversion above needs only the standard library
    Extension = object  # type: ignore[assignment,misc]
    Object = Any  # type: ignore[assignment,misc]


class RstDocstrings(Extension):  # type: ignore[misc,valid-type]
    """Rewrite every loaded object's docstring with :func:`rst_to_markdown`."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
