"""Citations of documentation headings resolve: a renamed heading cannot silently break the
``docs/<file>.md#<anchor>`` references in the code, or the links between documents.

Anchors are GitHub's: the heading text, lower-cased, with everything but letters, digits,
``_``, ``-`` and spaces removed, and spaces turned into ``-`` (a repeated slug gets ``-1``,
``-2``, ...). Headings inside fenced code blocks are not headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# `docs/trust.md#admission` in code, docstrings, comments and documents.
_CITATION = re.compile(r"docs/((?:[\w.-]+/)*[\w.-]+\.md)#([\w-]+)")
# [text](other.md#anchor) or [text](#anchor) inside a document, relative to it.
_MD_LINK = re.compile(r"\]\(((?:[\w.-]+/)*[\w.-]+\.md)?#([\w-]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")

#: The anchors the code is meant to cite in docs/trust-model.md: the parties, the six
#: requirements and the sections. Renaming one of these is an interface change.
TRUST_MODEL_ANCHORS = (
    "parties",
    "device",
    "relay",
    "gateway",
    "token-issuer",
    "compute-node",
    "transparency-log-and-witnesses",
    "requirements",
    "stateless-computation",
    "enforceable-guarantees",
    "no-privileged-runtime-access",
    "non-targetability",
    "verifiable-transparency",
    "consistency",
    "request-path",
    "outer-layer",
    "inner-layer",
    "streaming",
    "attestation-and-the-transparency-log",
    "attestation",
    "release-manifest",
    "log-and-witnesses",
    "node-admission",
    "data-residency",
    "anonymous-tokens",
    "what-is-not-covered-yet",
)


def _slug(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of the Markdown file ``path``."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            continue
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def _sources() -> list[Path]:
    files = [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py")]
    files += [*DOCS.rglob("*.md"), *ROOT.glob("*.md")]
    return sorted(f for f in files if "__pycache__" not in f.parts)


def _citations() -> list[tuple[Path, Path, str]]:
    """``(citing file, cited document, anchor)`` for every citation in the repository."""
    out: list[tuple[Path, Path, str]] = []
    for source in _sources():
        text = source.read_text(encoding="utf-8")
        if source == Path(__file__).resolve():
            continue
        for match in _CITATION.finditer(text):
            out.append((source, DOCS / match.group(1), match.group(2)))
        if source.suffix == ".md":
            for match in _MD_LINK.finditer(text):
                target = source.parent / match.group(1) if match.group(1) else source
                out.append((source, target.resolve(), match.group(2)))
    return out


def test_slugs_follow_githubs_rule() -> None:
    assert _slug("Consistency") == "consistency"
    assert _slug("No privileged runtime access") == "no-privileged-runtime-access"
    assert _slug("3. Admission (`trust.admission.admit`)") == "3-admission-trustadmissionadmit"


def test_trust_model_has_every_anchor_the_code_cites() -> None:
    missing = set(TRUST_MODEL_ANCHORS) - anchors(DOCS / "trust-model.md")
    assert not missing


@pytest.mark.parametrize(
    ("source", "document", "anchor"),
    [pytest.param(s, d, a, id=f"{s.relative_to(ROOT)}->{d.name}#{a}") for s, d, a in _citations()],
)
def test_cited_heading_exists(source: Path, document: Path, anchor: str) -> None:
    assert document.is_file(), f"{source.relative_to(ROOT)} cites a missing {document.name}"
    assert anchor in anchors(document), (
        f"{source.relative_to(ROOT)} cites {document.name}#{anchor}, which no heading answers"
    )
