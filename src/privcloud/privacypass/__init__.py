"""Privacy Pass (RFC 9576/9577/9578), publicly verifiable tokens (type 0x0002), sans-IO.

Codecs for the token challenge, the ``PrivateToken`` HTTP authentication scheme and the issuer
directory, and the client, issuer and origin procedures. Randomness and time are arguments; no
IO happens here. See :mod:`privcloud.privacypass.tokens` for the flow.
"""

from __future__ import annotations

from privcloud.privacypass.challenge import TokenChallenge, challenge_digest
from privcloud.privacypass.directory import DirectoryKey, IssuerDirectory
from privcloud.privacypass.headers import (
    PrivateTokenChallenge,
    b64url_decode,
    b64url_encode,
    encode_authorization,
    encode_www_authenticate,
    parse_authorization,
    parse_www_authenticate,
)
from privcloud.privacypass.tokens import (
    NK,
    TOKEN_TYPE_BLIND_RSA,
    ClientState,
    IssuerKey,
    Token,
    TokenRequest,
    TokenResponse,
    client_begin,
    client_finalize,
    issuer_evaluate,
    issuer_key_map,
    token_key_id,
    token_nonce,
    verify_token,
)

__all__ = [
    "NK",
    "TOKEN_TYPE_BLIND_RSA",
    "ClientState",
    "DirectoryKey",
    "IssuerDirectory",
    "IssuerKey",
    "PrivateTokenChallenge",
    "Token",
    "TokenChallenge",
    "TokenRequest",
    "TokenResponse",
    "b64url_decode",
    "b64url_encode",
    "challenge_digest",
    "client_begin",
    "client_finalize",
    "encode_authorization",
    "encode_www_authenticate",
    "issuer_evaluate",
    "issuer_key_map",
    "parse_authorization",
    "parse_www_authenticate",
    "token_key_id",
    "token_nonce",
    "verify_token",
]
