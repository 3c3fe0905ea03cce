"""Fuzz target: key statements, the gateway's and issuer's keys as logged (trust/keys.py).

Operations: ``statement`` (:meth:`KeyStatement.decode`, canonical JSON only) and
``statement_list`` (:func:`decode_statement_list`, the gateway's ``/v1/key-statements``).
"""

from __future__ import annotations

from fuzz import harness
from privcloud.trust.keys import KeyStatement, decode_statement_list

OPS: harness.Ops = (
    ("statement", KeyStatement.decode),
    ("statement_list", decode_statement_list),
)


def TestOneInput(data: bytes) -> None:
    harness.dispatch(OPS, data)


def main() -> None:
    harness.main(TestOneInput)


if __name__ == "__main__":
    main()
