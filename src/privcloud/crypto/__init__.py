"""The only package that imports ``cryptography`` and ``pyhpke`` (enforced by import-linter).

Everything above talks in bytes and in the small typed wrappers defined here, and sees only
:mod:`privcloud.errors` exceptions: foreign exceptions are wrapped once, here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

#: Randomness as an argument: ``rand(n)`` returns ``n`` uniformly random bytes.
Random = Callable[[int], bytes]

#: The system CSPRNG; the default wherever a core takes ``rand``.
system_random: Random = secrets.token_bytes
