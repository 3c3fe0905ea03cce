"""One exception tree (STYLE.md §3), defined in one module: every error class privcloud raises
is in ``privcloud.errors``, each with its own wire code, so a remote error decodes to exactly
the class that was raised."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from privcloud import errors
from privcloud.wire.jsonio import decode_error_body, encode_error_body

SRC = Path(__file__).resolve().parents[2] / "src" / "privcloud"


def _error_classes() -> list[type[errors.PrivcloudError]]:
    found: list[type[errors.PrivcloudError]] = []
    pending: list[type[errors.PrivcloudError]] = [errors.PrivcloudError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_class_is_defined_in_errors_py() -> None:
    elsewhere = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                elsewhere.append(f"{path.relative_to(SRC)}: {node.name}")
    assert elsewhere == []


def test_every_error_code_is_unique() -> None:
    """A class with a code of its own decodes to itself; a subclass that only carries data
    (TokenRefusedError's challenge) keeps its parent's code and decodes to the parent."""
    codes = [cls.code for cls in _error_classes() if cls.code not in _parent_codes(cls)]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)


def _parent_codes(cls: type[errors.PrivcloudError]) -> set[str]:
    return {base.code for base in cls.__mro__[1:] if issubclass(base, errors.PrivcloudError)}


@pytest.mark.parametrize(
    "cls",
    [c for c in _error_classes() if c.__init__ is errors.PrivcloudError.__init__],
    ids=lambda c: c.__name__,
)
def test_each_error_travels_as_itself(cls: type[errors.PrivcloudError]) -> None:
    decoded = decode_error_body(encode_error_body(cls("fixed text")), cls.http_status)
    assert type(decoded) is (cls if cls is not errors.PrivcloudError else errors.UpstreamError)
