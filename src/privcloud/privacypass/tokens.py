"""Publicly verifiable tokens, token type 0x0002 (RFC 9578 §6), sans-IO.

Blind RSA (RFC 9474), variant RSABSSA-SHA384-PSS-Deterministic, with a 2048-bit issuer key
(Nk = 256). The three parties and their calls::

    request, state = client_begin(challenge_bytes, issuer_key_spki, rand=rand)   # client
    response = issuer_evaluate(private_key, request, key_id)                    # issuer
    token = client_finalize(state, response)                                    # client
    verify_token(token, keys, challenge_digest=digest)                          # origin

The issuer never sees the token it helps make, so it cannot link issuance to redemption. The
origin refuses a second spend itself, keyed by :func:`token_nonce`.

Errors: malformed bytes raise :class:`DecodeError`; another token type
:class:`UnsupportedError`; an unknown key :class:`UnknownKeyError`; a token for another challenge
:class:`AuthenticationError`; a signature that does not verify :class:`CryptoError`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Final

from privcloud.crypto import Random, blindrsa, system_random
from privcloud.crypto.symmetric import sha256
from privcloud.errors import (
    AuthenticationError,
    DecodeError,
    UnknownKeyError,
    UnsupportedError,
    UsageError,
)
from privcloud.privacypass.challenge import TokenChallenge

#: Token type of publicly verifiable tokens with blind RSA (RFC 9578 §6).
TOKEN_TYPE_BLIND_RSA: Final = 0x0002
#: Nk: authenticator, blinded message and blind signature size for type 0x0002, in bytes.
NK: Final = 256
#: Nid: size of a token key identifier, in bytes.
NID: Final = 32
#: Size of a token nonce, in bytes.
NONCE_SIZE: Final = 32
#: The RFC 9474 variant of token type 0x0002.
VARIANT: Final = blindrsa.Variant.SHA384_PSS_DETERMINISTIC
_MODULUS_BITS: Final = 2048

#: Encoded sizes.
TOKEN_SIZE: Final = 2 + NONCE_SIZE + 32 + NID + NK
TOKEN_REQUEST_SIZE: Final = 2 + 1 + NK
TOKEN_RESPONSE_SIZE: Final = NK


def _check_type(token_type: int) -> None:
    if token_type != TOKEN_TYPE_BLIND_RSA:
        raise UnsupportedError("token type not supported")


def _check_len(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise UsageError(f"{name} must be {size} bytes")


def _peek_type(data: bytes) -> int:
    if len(data) < 2:
        raise DecodeError("truncated token type")
    return int.from_bytes(data[:2], "big")


# --- wire structures (RFC 9578 §6.1-§6.3, RFC 9577 §2.2) -------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """``struct { u16 token_type; u8 nonce[32]; u8 challenge_digest[32]; u8 token_key_id[Nid];
    u8 authenticator[Nk]; } Token`` (RFC 9577 §2.2)."""

    token_type: int
    nonce: bytes
    challenge_digest: bytes
    token_key_id: bytes
    authenticator: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_type(self.token_type)
        _check_len("nonce", self.nonce, NONCE_SIZE)
        _check_len("challenge digest", self.challenge_digest, 32)
        _check_len("token key id", self.token_key_id, NID)
        _check_len("authenticator", self.authenticator, NK)

    def authenticator_input(self) -> bytes:
        """The signed message: every field but the authenticator (RFC 9578 §6.1)."""
        return (
            self.token_type.to_bytes(2, "big")
            + self.nonce
            + self.challenge_digest
            + self.token_key_id
        )

    def encode(self) -> bytes:
        """The wire bytes (what ``Authorization: PrivateToken token=`` carries)."""
        return self.authenticator_input() + self.authenticator

    @classmethod
    def decode(cls, data: bytes) -> Token:
        """Parse one token.

        Raises :class:`UnsupportedError` for another type, else :class:`DecodeError`.
        """
        data = bytes(data)
        _check_type(_peek_type(data))
        if len(data) != TOKEN_SIZE:
            raise DecodeError("token has the wrong length")
        nonce_end = 2 + NONCE_SIZE
        digest_end = nonce_end + 32
        key_end = digest_end + NID
        return cls(
            TOKEN_TYPE_BLIND_RSA,
            data[2:nonce_end],
            data[nonce_end:digest_end],
            data[digest_end:key_end],
            data[key_end:],
        )


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """``struct { u16 token_type = 0x0002; u8 truncated_token_key_id; u8 blinded_msg[Nk]; }``."""

    token_type: int
    truncated_token_key_id: int
    blinded_msg: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_type(self.token_type)
        if not 0 <= self.truncated_token_key_id <= 0xFF:
            raise UsageError("truncated key id must be one byte")
        _check_len("blinded message", self.blinded_msg, NK)

    def encode(self) -> bytes:
        return (
            self.token_type.to_bytes(2, "big")
            + bytes([self.truncated_token_key_id])
            + self.blinded_msg
        )

    @classmethod
    def decode(cls, data: bytes) -> TokenRequest:
        """Parse one request; :class:`UnsupportedError` for another type, else
        :class:`DecodeError`."""
        data = bytes(data)
        _check_type(_peek_type(data))
        if len(data) != TOKEN_REQUEST_SIZE:
            raise DecodeError("token request has the wrong length")
        return cls(TOKEN_TYPE_BLIND_RSA, data[2], data[3:])


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """``struct { u8 blind_sig[Nk]; } TokenResponse``."""

    blind_sig: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_len("blind signature", self.blind_sig, NK)

    def encode(self) -> bytes:
        return self.blind_sig

    @classmethod
    def decode(cls, data: bytes) -> TokenResponse:
        """Parse one response; raises :class:`DecodeError` unless it is exactly Nk bytes."""
        data = bytes(data)
        if len(data) != TOKEN_RESPONSE_SIZE:
            raise DecodeError("token response has the wrong length")
        return cls(data)


# --- keys ------------------------------------------------------------------------------------


def token_key_id(spki: bytes) -> bytes:
    """``token_key_id = SHA-256(pkI SPKI encoding)`` (RFC 9578 §6.5)."""
    return sha256(bytes(spki))


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """An issuer public key for token type 0x0002, parsed once and reused.

    Holding these (in a map by ``key_id``) is what makes :func:`verify_token` cheap.
    """

    spki: bytes = field(repr=False)
    key_id: bytes
    public_key: blindrsa.PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_spki(cls, spki: bytes) -> IssuerKey:
        """Parse the RSASSA-PSS SPKI of RFC 9578 §6.5; raises :class:`DecodeError` for any
        other encoding or a modulus that is not 2048 bits."""
        spki = bytes(spki)
        public_key = blindrsa.rsa_pss_public_key_from_spki(spki)
        if public_key.key_size != _MODULUS_BITS:
            raise DecodeError("token type 2 needs a 2048-bit key")
        return cls(spki, token_key_id(spki), public_key)

    @classmethod
    def from_public_key(cls, public_key: blindrsa.PublicKey) -> IssuerKey:
        """Wrap a local key; raises :class:`UsageError` unless it is 2048 bits."""
        if public_key.key_size != _MODULUS_BITS:
            raise UsageError("token type 2 needs a 2048-bit key")
        spki = blindrsa.rsa_pss_public_key_to_spki(public_key)
        return cls(spki, token_key_id(spki), public_key)

    @property
    def truncated_key_id(self) -> int:
        """The least significant byte of the key id (RFC 9578 §6.1)."""
        return self.key_id[-1]


def issuer_key_map(keys: Mapping[bytes, IssuerKey] | Iterable[IssuerKey]) -> dict[bytes, IssuerKey]:
    """Index issuer keys by ``key_id`` for :func:`verify_token`."""
    values = keys.values() if isinstance(keys, Mapping) else keys
    return {key.key_id: key for key in values}


# --- the client (RFC 9578 §6.1, §6.3) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientState:
    """What a client keeps between :func:`client_begin` and :func:`client_finalize`.

    ``inv`` is secret (it links the request to the token); never log or send this object.
    """

    issuer_key: IssuerKey
    nonce: bytes
    challenge_digest: bytes
    inv: bytes = field(repr=False)

    @property
    def token_input(self) -> bytes:
        """``token_type || nonce || challenge_digest || token_key_id``."""
        return (
            TOKEN_TYPE_BLIND_RSA.to_bytes(2, "big")
            + self.nonce
            + self.challenge_digest
            + self.issuer_key.key_id
        )


def client_begin(
    challenge_bytes: bytes,
    issuer_public_key_spki: bytes | IssuerKey,
    *,
    rand: Random = system_random,
    nonce: bytes | None = None,
    blind_r: int | None = None,
    salt: bytes | None = None,
) -> tuple[bytes, ClientState]:
    """Make a TokenRequest for a challenge (RFC 9578 §6.1); returns ``(request, state)``.

    ``nonce``, ``blind_r`` and ``salt`` are test seams for the RFC vectors; leave them ``None``.
    Raises :class:`DecodeError` for a malformed challenge or key, :class:`UnsupportedError`
    when the challenge asks for another token type.
    """
    # 1. The challenge must parse and be for token type 0x0002.
    challenge = TokenChallenge.decode(challenge_bytes)
    _check_type(challenge.token_type)
    # 2. The issuer key must be the RFC 9578 §6.5 SPKI of a 2048-bit key.
    key = (
        issuer_public_key_spki
        if isinstance(issuer_public_key_spki, IssuerKey)
        else IssuerKey.from_spki(issuer_public_key_spki)
    )
    # 3. nonce = random(32); challenge_digest = SHA256(challenge).
    if nonce is None:
        nonce = rand(NONCE_SIZE)
    _check_len("nonce", nonce, NONCE_SIZE)
    digest = sha256(bytes(challenge_bytes))
    # 4. token_input = token_type || nonce || challenge_digest || token_key_id.
    token_input = TOKEN_TYPE_BLIND_RSA.to_bytes(2, "big") + nonce + digest + key.key_id
    # 5. blinded_msg, blind_inv = Blind(pkI, PrepareIdentity(token_input)).
    blinded_msg, inv = blindrsa.blind(
        key.public_key, token_input, variant=VARIANT, rand=rand, r=blind_r, salt=salt
    )
    # 6. TokenRequest with the last byte of the key id.
    request = TokenRequest(TOKEN_TYPE_BLIND_RSA, key.truncated_key_id, blinded_msg)
    return request.encode(), ClientState(key, nonce, digest, inv)


def client_finalize(state: ClientState, token_response_bytes: bytes) -> Token:
    """Unblind the issuer's answer into a Token (RFC 9578 §6.3).

    Raises :class:`DecodeError` for a malformed response and :class:`CryptoError` when the
    result does not verify under the issuer key (a wrong key, or an issuer that cheated).
    """
    # 1. The response is exactly Nk bytes.
    response = TokenResponse.decode(token_response_bytes)
    # 2. authenticator = Finalize(pkI, token_input, blind_sig, blind_inv), which verifies it.
    authenticator = blindrsa.finalize(
        state.issuer_key.public_key,
        state.token_input,
        response.blind_sig,
        state.inv,
        variant=VARIANT,
    )
    # 3. Token = token_type || nonce || challenge_digest || token_key_id || authenticator.
    return Token(
        TOKEN_TYPE_BLIND_RSA,
        state.nonce,
        state.challenge_digest,
        state.issuer_key.key_id,
        authenticator,
    )


# --- the issuer (RFC 9578 §6.2) --------------------------------------------------------------


def issuer_evaluate(
    private_key: blindrsa.PrivateKey,
    token_request_bytes: bytes,
    expected_key_id: bytes,
    *,
    rand: Random = system_random,
) -> bytes:
    """Sign one TokenRequest with the issuer key whose id is ``expected_key_id``.

    The caller has authenticated the client and charged its quota. Raises
    :class:`UnsupportedError` for another token type, :class:`DecodeError` for a malformed
    request, :class:`UnknownKeyError` when the request names another key.
    """
    if private_key.key_size != _MODULUS_BITS:
        raise UsageError("token type 2 needs a 2048-bit key")
    _check_len("key id", expected_key_id, NID)
    # 1. Parse; the token type must be 0x0002 (checked first) and the size exact.
    request = TokenRequest.decode(token_request_bytes)
    # 2. truncated_token_key_id must match the key we sign with.
    if request.truncated_token_key_id != expected_key_id[-1]:
        raise UnknownKeyError("token request names another issuer key")
    # 3. blind_sig = BlindSign(skI, blinded_msg) (checks s^e == m before answering).
    return TokenResponse(blindrsa.blind_sign(private_key, request.blinded_msg, rand=rand)).encode()


# --- the origin (RFC 9578 §6.4) --------------------------------------------------------------


def verify_token(
    token: Token | bytes,
    keys: IssuerKey | Mapping[bytes, IssuerKey],
    *,
    challenge_digest: bytes | Set[bytes],
) -> None:
    """Verify a token for one of the origin's challenges; returns nothing, raises on refusal.

    ``keys`` is one issuer key or a map by key id (see :func:`issuer_key_map`);
    ``challenge_digest`` is the digest of the challenge the origin sent (or the set of those it
    still accepts). This does not check for a second spend: the caller records
    :func:`token_nonce` after this returns. Raises :class:`DecodeError`,
    :class:`UnsupportedError`, :class:`AuthenticationError` (another challenge),
    :class:`UnknownKeyError` or :class:`CryptoError` (a forged authenticator).
    """
    # 1. Parse; the token type must be 0x0002.
    if not isinstance(token, Token):
        token = Token.decode(token)
    # 2. The token must be bound to a challenge this origin issued.
    if isinstance(challenge_digest, bytes):
        if not hmac.compare_digest(token.challenge_digest, challenge_digest):
            raise AuthenticationError("token was issued for another challenge")
    elif token.challenge_digest not in challenge_digest:
        raise AuthenticationError("token was issued for another challenge")
    # 3. The key id must name a key we hold.
    if isinstance(keys, IssuerKey):
        key = keys if hmac.compare_digest(keys.key_id, token.token_key_id) else None
    else:
        key = keys.get(token.token_key_id)
    if key is None:
        raise UnknownKeyError("token names an unknown issuer key")
    # 4. RSASSA-PSS-VERIFY(pkI, token_input, authenticator) with SHA-384, salt 48.
    blindrsa.verify(
        key.public_key, token.authenticator_input(), token.authenticator, variant=VARIANT
    )


def token_nonce(token: Token | bytes) -> bytes:
    """The token's 32-byte nonce: the key of the spent-token store.

    Cheap: on bytes it slices without verifying, so call it after :func:`verify_token`.
    Raises :class:`DecodeError` when bytes are too short to hold a nonce.
    """
    if isinstance(token, Token):
        return token.nonce
    if len(token) < 2 + NONCE_SIZE:
        raise DecodeError("token too short")
    return bytes(token[2 : 2 + NONCE_SIZE])
