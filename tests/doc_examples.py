"""The fenced code blocks of the project's docs, for the tests that run them.

The API documents' examples live in ``docs/`` (``api.md``, ``links.md``) under an
``## Examples`` heading; tests take each block by a phrase only it contains and run it
against a real lockr, so the docs cannot drift from what lockr does."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def code_blocks(doc: str, language: str, *, section: str = "Examples") -> list[str]:
    """The ``language`` blocks under the ``## section`` heading of ``docs/doc``."""
    text = (DOCS / doc).read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else len(text)]
    return [code.strip() for lang, code in FENCE.findall(body) if lang == language]


class Examples:
    """The blocks of one language in a docs section, taken one by one; a test calls
    :meth:`untaken` at the end so that every documented example is run."""

    def __init__(self, doc: str, language: str) -> None:
        self.doc = doc
        self._left = code_blocks(doc, language)

    def take(self, *phrases: str) -> str:
        """The one block not yet taken that contains every phrase."""
        found = [code for code in self._left if all(p in code for p in phrases)]
        assert len(found) == 1, f"{len(found)} examples in docs/{self.doc} contain {phrases}"
        self._left.remove(found[0])
        return found[0]

    def untaken(self) -> list[str]:
        return list(self._left)
