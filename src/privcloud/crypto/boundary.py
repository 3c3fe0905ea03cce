"""Where foreign exceptions become ours (STYLE.md §3): the one wrapper that every call into
``cryptography``, ``pyhpke`` or ``gmpy2`` on outside input goes through.

Why it catches :class:`Exception` rather than a list of types: the libraries' sets of exceptions
are open. ``cryptography`` raises ``ValueError`` for most malformed input, but
``x509.InvalidVersion`` and ``x509.DuplicateExtension`` — plain ``Exception`` subclasses — for a
certificate with a bad version or a repeated extension, and ``UnsupportedAlgorithm``,
``InvalidSignature``, ``InternalError``, ``OverflowError`` or ``NotImplementedError`` elsewhere;
a new release may add more. A list is one release (or one missed accessor: ``cryptography``
parses certificates lazily) away from letting one peer's certificate escape as a foreign
exception and stop the admission of every node ("admission poisoning"). So the wrapper goes
around library calls on outside input only, never around our own logic: what it catches is the
input's fault or the library's, and either way the input is refused with our error.

What passes through unchanged: our own :class:`~privcloud.errors.PrivcloudError`, and
:class:`BaseException`s that are not :class:`Exception` (``KeyboardInterrupt``, ``SystemExit``,
``asyncio.CancelledError``) and :class:`MemoryError` — none of them says anything about the input.
"""

from __future__ import annotations

from types import TracebackType
from typing import Final

from privcloud.errors import PrivcloudError

#: Never converted: they say nothing about the input.
_PASS_THROUGH: Final = (PrivcloudError, MemoryError)


class _ForeignBoundary:
    """The context manager :func:`foreign_errors` returns."""

    __slots__ = ("_error", "_message")

    def __init__(self, error: type[PrivcloudError], message: str) -> None:
        self._error = error
        self._message = message

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, Exception) and not isinstance(exc, _PASS_THROUGH):
            raise self._error(self._message) from exc


def foreign_errors(error: type[PrivcloudError], message: str) -> _ForeignBoundary:
    """A ``with`` block that turns any foreign exception into ``error(message)``, ``from`` it.

    ``message`` must be fixed, content-free text (it reaches logs). Raises ``error``; lets
    :class:`PrivcloudError`, :class:`MemoryError` and non-``Exception`` exceptions through
    unchanged; never suppresses an exception.
    """
    return _ForeignBoundary(error, message)
