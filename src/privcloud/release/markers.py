"""PEP 508 environment markers, evaluated without third-party code (sans-IO: the environment is
an argument).

Only what dependency metadata uses: the marker variables of PEP 508, the comparison operators
(``== != < <= > >= ~= === in not in``), ``and``, ``or`` and parentheses. Versions compare as
tuples of their leading release numbers (``"3.11"`` < ``"3.13.0rc1"``), which is exact for the
``python_version`` style comparisons metadata makes; anything else compares as strings, as
PEP 508 prescribes when a value is not a version.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping

from privcloud.errors import ConfigError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'[^']*'|"[^"]*")
      | (?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)
      | (?P<paren>[()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_VERSION_VARS = frozenset(
    {"python_version", "python_full_version", "implementation_version", "platform_release"}
)
_VARIABLES = frozenset(
    {
        "os_name",
        "sys_platform",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_version",
        "python_full_version",
        "implementation_name",
        "implementation_version",
        "extra",
    }
)


def current_environment() -> dict[str, str]:
    """The marker environment of this interpreter (``extra`` empty)."""
    impl = sys.implementation.version
    impl_version = f"{impl.major}.{impl.minor}.{impl.micro}"
    if impl.releaselevel != "final":
        impl_version += impl.releaselevel[0] + str(impl.serial)
    return {
        "os_name": os.name,
        "sys_platform": sys.platform,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_version": "{}.{}".format(*sys.version_info[:2]),
        "python_full_version": platform.python_version(),
        "implementation_name": sys.implementation.name,
        "implementation_version": impl_version,
        "extra": "",
    }


def _tokens(marker: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = marker.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConfigError("a dependency marker cannot be parsed")
        kind = m.lastgroup
        assert kind is not None
        value = m.group(kind)
        if kind == "op":
            value = " ".join(value.split())
        out.append((kind, value))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _version(value: str) -> tuple[int, ...]:
    parts = []
    for piece in value.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
        if digits.end() != len(piece):
            break
    return tuple(parts)


def _pad(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    n = max(len(a), len(b))
    return a + (0,) * (n - len(a)), b + (0,) * (n - len(b))


def _normalise_extra(value: str) -> str:
    return re.sub(r"[-_.]+", "-", value).lower()


def _compare(left: str, op: str, right: str, version: bool) -> bool:
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    if op == "===":
        return left == right
    lv, rv = _version(left), _version(right)
    if version and lv and rv:
        if op == "~=":
            prefix = rv[:-1] if len(rv) > 1 else rv
            a, b = _pad(lv, rv)
            return a >= b and lv[: len(prefix)] == prefix
        a, b = _pad(lv, rv)
        ops = {
            "==": a == b,
            "!=": a != b,
            "<": a < b,
            "<=": a <= b,
            ">": a > b,
            ">=": a >= b,
        }
        return ops[op]
    ops_s = {
        "==": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
        "~=": left == right,
    }
    return ops_s[op]


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], env: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.env = env

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConfigError("a dependency marker ends early")
        self.pos += 1
        return token

    def or_expr(self) -> bool:
        value = self.and_expr()
        while self.peek() == ("word", "or"):
            self.pos += 1
            right = self.and_expr()
            value = value or right
        return value

    def and_expr(self) -> bool:
        value = self.atom()
        while self.peek() == ("word", "and"):
            self.pos += 1
            right = self.atom()
            value = value and right
        return value

    def atom(self) -> bool:
        if self.peek() == ("paren", "("):
            self.pos += 1
            value = self.or_expr()
            if self.take() != ("paren", ")"):
                raise ConfigError("a dependency marker has unbalanced parentheses")
            return value
        left_kind, left = self.value()
        kind, op = self.take()
        if kind != "op":
            raise ConfigError("a dependency marker lacks an operator")
        right_kind, right = self.value()
        names = {left_kind, right_kind} - {"string"}
        if "extra" in names:
            left, right = _normalise_extra(left), _normalise_extra(right)
        return _compare(left, op, right, version=bool(names & _VERSION_VARS))

    def value(self) -> tuple[str, str]:
        kind, text = self.take()
        if kind == "string":
            return "string", text[1:-1]
        if kind == "word" and text in _VARIABLES:
            return text, self.env.get(text, "")
        raise ConfigError("a dependency marker names an unknown variable")


def evaluate(marker: str, env: Mapping[str, str]) -> bool:
    """Whether ``marker`` holds in ``env``; :class:`ConfigError` if it cannot be parsed."""
    parser = _Parser(_tokens(marker), env)
    value = parser.or_expr()
    if parser.peek() is not None:
        raise ConfigError("a dependency marker has trailing text")
    return value
