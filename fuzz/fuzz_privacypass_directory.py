"""Fuzz target: the Privacy Pass issuer directory (RFC 9578 §4) and privcloud's reading of it
with key expiry (``parse_issuer_directory``: type-2 keys parsed as RFC 9578 §6.5 SPKIs)."""

from __future__ import annotations

from fuzz import harness
from privcloud.privacypass.directory import IssuerDirectory
from privcloud.privacypass.issuance import parse_issuer_directory

OPS: harness.Ops = (
    ("issuer_directory", IssuerDirectory.decode),
    ("parse_issuer_directory", parse_issuer_directory),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
