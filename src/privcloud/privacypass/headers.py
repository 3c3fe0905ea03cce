"""The PrivateToken HTTP authentication scheme (RFC 9577 §2.1.1 and §2.2.1).

::

    WWW-Authenticate: PrivateToken challenge="<b64url TokenChallenge>",
                      token-key="<b64url issuer key>", max-age="10"
    Authorization: PrivateToken token="<b64url Token>"

The parser follows the challenge and credentials grammar of RFC 9110 §11 (schemes and parameter
names case-insensitive, values as token or quoted-string, token68 for foreign schemes, empty list
elements ignored) and refuses anything else with :class:`DecodeError`. Challenges of other schemes
are skipped; PrivateToken challenges of any token type are returned (the key stays opaque bytes).
base64url values are written with padding, as RFC 9577 asks, and read with or without it.

One deviation, for ``WWW-Authenticate`` only: an unquoted parameter value may be base64url with
its ``=`` padding (``challenge=AAIA...=``), which RFC 9110 §11.2 does not allow (``=`` is not a
``tchar``; only token68 may end in ``=``, and a padded value must be a quoted-string). Deployed
origins send it: ``@cloudflare/privacypass-ts`` writes every value unquoted by default
(``tests/vectors/privacypass_ts_headers.json``). The form accepted is exactly
``1*( ALPHA / DIGIT / "-" / "_" ) 1*2"="`` ending the value; ``=`` anywhere else, a third ``=``,
or anything glued after the padding is still refused. No strictly valid field changes meaning
(after a token value only OWS and ``,`` may follow). ``Authorization`` stays strict: a type
``0x0002`` token is 354 bytes, so its base64url never has padding and the library's unquoted
``token=...`` already is a valid token; a padded unquoted value cannot be such a token. The
encoders always quote.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from privcloud import limits
from privcloud.errors import DecodeError, TooLargeError, UnsupportedError, UsageError
from privcloud.privacypass.challenge import TokenChallenge

#: The authentication scheme name (compared case-insensitively).
SCHEME: Final = "PrivateToken"

_TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68_RE: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_QDTEXT: Final = r"[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]*"
_QUOTED_RE: Final = re.compile(rf'"({_QDTEXT}(?:\\[\t \x21-\x7e\x80-\xff]{_QDTEXT})*)"')
_QUOTED_PAIR_RE: Final = re.compile(r"\\(.)")
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")
#: The one form devices send (:func:`encode_authorization`), read by a single match; every other
#: spelling goes through the RFC 9110 parser, which reads this form to the same token.
_SENT_FORM_RE: Final = re.compile(rb'PrivateToken token="([A-Za-z0-9_-]*={0,2})"')
_B64URL_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_DIGITS_RE: Final = re.compile(r"[0-9]{1,10}")
# The WWW-Authenticate deviation: base64url, 1-2 '=' of padding, then the end of the value.
_PADDED_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]+={1,2}(?![=!#$%&'*+\-.^_`|~0-9A-Za-z])")


# --- base64url -------------------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """base64url (RFC 4648 §5) with padding."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding; anything else raises :class:`DecodeError`."""
    if not _B64URL_RE.fullmatch(text):
        raise DecodeError("not base64url")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1 or (text != stripped and len(text) % 4 != 0):
        raise DecodeError("bad base64url length or padding")
    try:
        out = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("not base64url") from exc
    # Canonical form: the bits after the last whole byte are zero (RFC 4648 §3.5).
    spare = {2: 0x0F, 3: 0x03}.get(len(stripped) % 4, 0)
    if spare and _B64URL_ALPHABET.index(stripped[-1]) & spare:
        raise DecodeError("non-canonical base64url")
    return out


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrivateTokenChallenge:
    """One ``PrivateToken`` challenge of a ``WWW-Authenticate`` field.

    ``challenge`` holds the TokenChallenge bytes exactly as sent (its digest binds the token),
    ``token_key`` the issuer key for the challenge's token type, ``max_age`` the seconds the
    origin accepts the challenge for, when given.
    """

    challenge: bytes
    token_key: bytes
    max_age: int | None = None

    def __post_init__(self) -> None:
        if (
            self.max_age is not None
            and not 0 <= self.max_age <= limits.MAX_PRIVACYPASS_CHALLENGE_MAX_AGE_S
        ):
            raise UsageError("max-age out of range")

    def token_challenge(self) -> TokenChallenge:
        """The decoded challenge; raises :class:`DecodeError`."""
        return TokenChallenge.decode(self.challenge)


@dataclass(frozen=True, slots=True)
class _AuthItem:
    scheme: str  # lower-cased
    params: tuple[tuple[str, str], ...]  # lower-cased names, unquoted values
    token68: str | None


# --- encoding --------------------------------------------------------------------------------


def encode_www_authenticate(
    challenges: PrivateTokenChallenge | Sequence[PrivateTokenChallenge],
) -> str:
    """A ``WWW-Authenticate`` field value carrying one or more PrivateToken challenges."""
    items = [challenges] if isinstance(challenges, PrivateTokenChallenge) else list(challenges)
    if not items:
        raise UsageError("no challenge to encode")
    parts = []
    for item in items:
        text = f'{SCHEME} challenge="{b64url_encode(item.challenge)}", '
        text += f'token-key="{b64url_encode(item.token_key)}"'
        if item.max_age is not None:
            text += f', max-age="{item.max_age}"'
        parts.append(text)
    return ", ".join(parts)


def encode_authorization(token: bytes) -> str:
    """An ``Authorization`` field value presenting the encoded token."""
    return f'{SCHEME} token="{b64url_encode(token)}"'


# --- parsing ---------------------------------------------------------------------------------


def parse_www_authenticate(value: str | bytes) -> list[PrivateTokenChallenge]:
    """Every PrivateToken challenge in a ``WWW-Authenticate`` field value, in order.

    Several field lines may be joined with ``", "`` first. Challenges of other schemes are
    skipped. Raises :class:`DecodeError` when the value is not valid RFC 9110 challenge syntax or
    a PrivateToken challenge lacks ``challenge`` or ``token-key``, repeats a parameter, or has a
    bad value; :class:`TooLargeError` past the bounds above.
    """
    out = []
    for item in _parse_items(value, padded_values=True):
        if item.scheme != SCHEME.lower():
            continue
        params = _private_token_params(item)
        if "challenge" not in params or "token-key" not in params:
            raise DecodeError("PrivateToken challenge lacks challenge or token-key")
        max_age = None
        if "max-age" in params:
            if not _DIGITS_RE.fullmatch(params["max-age"]):
                raise DecodeError("bad max-age")
            max_age = int(params["max-age"])
            if max_age > limits.MAX_PRIVACYPASS_CHALLENGE_MAX_AGE_S:
                raise DecodeError("max-age out of range")
        out.append(
            PrivateTokenChallenge(
                challenge=b64url_decode(params["challenge"]),
                token_key=b64url_decode(params["token-key"]),
                max_age=max_age,
            )
        )
    return out


def parse_authorization(value: str | bytes) -> bytes:
    """The encoded token of an ``Authorization: PrivateToken token=...`` field value.

    Raises :class:`UnsupportedError` for a well-formed credential of another scheme and
    :class:`DecodeError` for anything malformed (several credentials, no ``token``, a repeated
    parameter, a value that is not base64url).
    """
    if isinstance(value, bytes) and len(value) <= limits.MAX_HTTP_FIELD_SIZE:
        sent = _SENT_FORM_RE.fullmatch(value)
        if sent is not None:
            return b64url_decode(sent.group(1).decode("ascii"))
    items = _parse_items(value, padded_values=False)
    if len(items) != 1:
        raise DecodeError("Authorization must carry exactly one credential")
    item = items[0]
    if item.scheme != SCHEME.lower():
        raise UnsupportedError("authorization scheme not supported")
    params = _private_token_params(item)
    if "token" not in params:
        raise DecodeError("PrivateToken credential lacks token")
    return b64url_decode(params["token"])


def _private_token_params(item: _AuthItem) -> dict[str, str]:
    if item.token68 is not None:
        raise DecodeError("PrivateToken takes parameters, not token68")
    params: dict[str, str] = {}
    for name, val in item.params:
        if name in params:
            raise DecodeError("repeated auth parameter")
        params[name] = val
    return params


def _as_text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if len(value) > limits.MAX_HTTP_FIELD_SIZE:
        raise TooLargeError("authentication field too large")
    if not value.isascii():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise DecodeError("non-latin-1 character in field value") from exc
    return value


def _parse_items(value: str | bytes, *, padded_values: bool) -> list[_AuthItem]:
    """Parse ``#challenge`` (RFC 9110 §11.6.1; credentials share the syntax).

    ``padded_values`` admits the unquoted padded base64url values described above.
    """
    text = _as_text(value)
    pos, end = 0, len(text)
    items: list[_AuthItem] = []
    while True:
        pos = _skip_empty_elements(text, pos)
        if pos == end:
            return items
        if len(items) == limits.MAX_PRIVACYPASS_AUTH_CHALLENGES:
            raise TooLargeError("too many authentication challenges")
        item, pos = _parse_item(text, pos, padded_values)
        items.append(item)
        pos = _ows(text, pos)
        if pos != end and text[pos] != ",":
            raise DecodeError("expected ',' between challenges")


def _ows(text: str, pos: int) -> int:
    """Skip optional whitespace (``OWS``/``BWS``)."""
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _skip_empty_elements(text: str, pos: int) -> int:
    while True:
        pos = _ows(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return pos


def _parse_item(text: str, pos: int, padded_values: bool) -> tuple[_AuthItem, int]:
    """``auth-scheme [ 1*SP ( token68 / #auth-param ) ]`` starting at ``pos``."""
    match = _TOKEN_RE.match(text, pos)
    if match is None:
        raise DecodeError("expected an auth scheme")
    scheme = match.group().lower()
    pos = match.end()
    after_space = _ows(text, pos)
    if after_space == len(text) or text[after_space] == ",":
        return _AuthItem(scheme, (), None), pos
    if after_space == pos or " " not in text[pos:after_space]:
        raise DecodeError("expected a space after the auth scheme")
    pos = after_space
    first = _parse_param(text, pos, padded_values)
    if first is None:
        match = _TOKEN68_RE.match(text, pos)
        if match is None:
            raise DecodeError("expected auth parameters or token68")
        following = _ows(text, match.end())
        if following != len(text) and text[following] != ",":
            raise DecodeError("bad token68")
        return _AuthItem(scheme, (), match.group()), match.end()
    params = [first[0]]
    pos = first[1]
    while True:
        # After a comma comes another auth-param of this challenge, or the next challenge.
        probe = _ows(text, pos)
        if probe == len(text) or text[probe] != ",":
            return _AuthItem(scheme, tuple(params), None), pos
        probe = _skip_empty_elements(text, probe)
        nxt = _parse_param(text, probe, padded_values)
        if nxt is None:
            return _AuthItem(scheme, tuple(params), None), pos
        if len(params) == limits.MAX_PRIVACYPASS_AUTH_PARAMS:
            raise TooLargeError("too many auth parameters")
        params.append(nxt[0])
        pos = nxt[1]


def _parse_param(text: str, pos: int, padded_values: bool) -> tuple[tuple[str, str], int] | None:
    """``token BWS "=" BWS ( token / quoted-string )`` at ``pos``.

    With ``padded_values``, the value may also be unquoted padded base64url (see above).

    Returns ``None`` when no ``token BWS "="`` starts here (so the caller may try something
    else); raises :class:`DecodeError` when a name and ``=`` are followed by no valid value.
    """
    name = _TOKEN_RE.match(text, pos)
    if name is None:
        return None
    pos = _ows(text, name.end())
    if pos == len(text) or text[pos] != "=":
        return None
    pos = _ows(text, pos + 1)
    if padded_values:
        padded = _PADDED_B64URL_RE.match(text, pos)
        if padded is not None:
            return (name.group().lower(), padded.group()), padded.end()
    token = _TOKEN_RE.match(text, pos)
    if token is not None:
        return (name.group().lower(), token.group()), token.end()
    quoted = _QUOTED_RE.match(text, pos)
    if quoted is not None:
        unquoted = quoted.group(1)
        if "\\" in unquoted:
            unquoted = _QUOTED_PAIR_RE.sub(r"\1", unquoted)
        return (name.group().lower(), unquoted), quoted.end()
    # "token=" with no value: a token68 such as "abc=" (handled by the caller) or garbage.
    return None
