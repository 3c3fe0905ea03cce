"""The value of every service's ``--database`` option: a store's URL, or ``env:NAME``, the
environment variable that holds it (docs/deploy.md, "Secrets").

A command line is readable by every process of the host (``/proc/PID/cmdline``, ``ps``) and
written into audit records of each exec, so a PostgreSQL password in a ``--database`` URL leaked
to them, and to every ``--workers`` process the gateway started with the same arguments (a
red-team review, 2026-12-07). ``env:NAME`` keeps the URL in the process's environment, which
only the process and root read; a URL that carries a password on the command line is still
taken, with a warning. The services' own children (gateway workers, the loopback cluster's
services) get the URL through their environment only
(:func:`privcloud.storage.database.child_database`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qs, urlsplit

from privcloud.storage.database import ENV_PREFIX

_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


def database_url(value: str, environ: Mapping[str, str] | None = None) -> str:
    """The URL ``value`` names (argparse's ``type=`` of ``--database``): ``env:NAME`` reads
    ``NAME`` from the environment; a URL is taken as it is, with a warning on standard error
    when it carries a password."""
    if value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :]
        if not _NAME_RE.match(name):
            raise argparse.ArgumentTypeError("env: takes an environment variable's name")
        url = (os.environ if environ is None else environ).get(name)
        if not url:
            raise argparse.ArgumentTypeError(f"the environment variable {name} is not set")
        return url
    if has_password(value):
        print(
            "privcloud: warning: the --database URL carries a password, which every process "
            "of this host can read on the command line: give --database env:NAME, with the "
            "URL in the environment variable NAME (docs/deploy.md)",
            file=sys.stderr,
            flush=True,
        )
    return value


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (``user:password@`` or libpq's ``password=``)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return False
    return password is not None or "password" in parse_qs(parts.query)


__all__ = ["database_url", "has_password"]
