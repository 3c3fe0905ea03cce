"""The one exception tree of privcloud, split by whose fault an error is.

* :class:`PeerError` — a remote party sent bad input (malformed bytes, failed authentication,
  unknown key, oversize). The service answers with the error's HTTP status and keeps serving.
* :class:`UsageError` — the local caller misused an API or gave a bad configuration.
* :class:`UnavailableError` — a dependency (an upstream hop, a store) is unavailable.
* :class:`InternalError` — a fault of our own (a self-check failed); never the peer's fault.

Messages are fixed, content-free text: no user content, key material or peer bytes ever goes into
an exception message, because exception text reaches logs. Foreign exceptions are wrapped once,
at the boundary, with ``raise ... from exc``.
"""

from __future__ import annotations


class PrivcloudError(Exception):
    """Base of every error privcloud raises on purpose."""

    #: HTTP status a service answers with when this error ends a request.
    http_status: int = 500
    #: Short, stable, machine-readable code sent in error bodies.
    code: str = "internal"


# --- bad input from a peer -------------------------------------------------------------------


class PeerError(PrivcloudError):
    """A remote party sent input we refuse."""

    http_status = 400
    code = "bad_request"


class DecodeError(PeerError):
    """Bytes from a peer do not parse as the expected wire format."""

    code = "malformed"


class TooLargeError(PeerError):
    """A size from a peer exceeds a bound in :mod:`privcloud.limits`."""

    http_status = 413
    code = "too_large"


class CryptoError(PeerError):
    """Authenticated decryption or a signature check failed (tampering or a wrong key)."""

    code = "crypto"


class UnknownKeyError(PeerError):
    """A peer referred to a key identifier we do not hold."""

    http_status = 422
    code = "unknown_key"


class UnsupportedError(PeerError):
    """A peer asked for a version, suite or media type we do not implement."""

    http_status = 415
    code = "unsupported"


class TruncatedStreamError(CryptoError):
    """A sealed stream ended before its authenticated final marker."""

    code = "truncated"


class ReplayError(PeerError):
    """Something that may be used once was presented again."""

    code = "replay"


class AuthenticationError(PeerError):
    """Credentials (a token, a device signature) are missing or invalid."""

    http_status = 401
    code = "unauthorized"


class TokenRefusedError(AuthenticationError):
    """401 at the gateway: the request carried no token, or one the gateway refuses.

    ``www_authenticate`` is the challenge field the answer carries (public data: the challenge
    and the issuer key); the message is a fixed reason.
    """

    def __init__(self, message: str, *, www_authenticate: str) -> None:
        super().__init__(message)
        self.www_authenticate = www_authenticate


class TokenRequiredError(AuthenticationError):
    """401 seen by the client: the gateway refused the request's token (or its absence).

    ``www_authenticate`` is the ``WWW-Authenticate`` field of the inner response, for the
    wallet (:meth:`privcloud.sdk.wallet.Wallet.on_challenge`).
    """

    def __init__(self, message: str, *, www_authenticate: bytes) -> None:
        super().__init__(message)
        self.www_authenticate = www_authenticate


class RateLimitedError(PeerError):
    """A quota was exceeded."""

    http_status = 429
    code = "rate_limited"


class RequestTimeoutError(PeerError):
    """A peer was too slow sending its request, or taking its answer (slowloris protection)."""

    http_status = 408
    code = "timeout"


class NotFoundError(PeerError):
    """A peer asked for a route or feature that does not exist."""

    http_status = 404
    code = "not_found"


class VerificationError(PeerError):
    """Evidence, a proof or a signature from a peer does not verify."""

    http_status = 403
    code = "verification"


class PolicyError(VerificationError):
    """Evidence verified, but the local policy refuses it."""

    code = "policy"


class RollbackError(VerificationError):
    """A checkpoint is smaller than the one already trusted: the log was rolled back."""

    code = "rollback"


class ForkError(VerificationError):
    """Two validly signed checkpoints of one size have different roots: a split view."""

    code = "fork"


class MissingCosignatureError(VerificationError):
    """Fewer than the required number of witnesses cosigned a checkpoint recently enough."""

    code = "missing_cosignature"


class InconsistentCheckpointError(VerificationError):
    """A witness found that the consistency proof from its recorded checkpoint does not verify
    (C2SP tlog-witness: 422)."""

    http_status = 422
    code = "inconsistent"


class SizeConflictError(PeerError):
    """A witness's recorded size is not the submission's old size (C2SP tlog-witness: 409 and
    the recorded size, so the log resends from it)."""

    http_status = 409
    code = "conflict"

    def __init__(self, recorded_size: int) -> None:
        super().__init__("old size does not match the witness's latest checkpoint")
        self.recorded_size = recorded_size


class KeyConsistencyError(PolicyError):
    """A key the operator served (an OHTTP key configuration, an issuer token key) is not
    proven to be the one every device gets: no inclusion proof in the trusted transparency
    log, a statement outside its validity, or too many keys at once (docs/adr/0009)."""

    code = "key_consistency"


class DirectoryConsistencyError(KeyConsistencyError):
    """The node directory the gateway served is not proven to be the one every device gets: no
    directory statement, one not in the trusted log, of another gateway or outside its
    validity, served nodes that are not exactly the statement's, or a listed node whose bundle
    fails admission (docs/adr/0033)."""

    code = "directory_consistency"


class TaggableChallengeError(PolicyError):
    """A token challenge differs from the one fixed for every device (a per-device
    ``redemption_context``, another origin or issuer): it could tag this device."""

    code = "taggable_challenge"


# --- misuse by the local caller ----------------------------------------------------------------


class UsageError(PrivcloudError):
    """The local caller misused an API."""

    code = "usage"


class ConfigError(UsageError):
    """A configuration value is missing or invalid."""

    code = "config"


# --- an unavailable dependency ---------------------------------------------------------------


class UnavailableError(PrivcloudError):
    """A dependency could not be reached or answered badly."""

    http_status = 503
    code = "unavailable"


class UpstreamError(UnavailableError):
    """The next hop failed or answered with an error."""

    http_status = 502
    code = "upstream"


class UpstreamUnreachableError(UpstreamError):
    """The next hop could not be reached: no connection was made, so nothing was delivered
    (a request may go to another recipient without running twice)."""

    code = "upstream_unreachable"


class NoTokenLeftError(UnavailableError):
    """The wallet holds no token for a request (its first send, a resend, a retry, a live
    call's opening or resume), and may not fetch one then: an issuance on a request's path
    would let the issuer tie that request to the device (docs/adr/0009, decisions 6 and 7).
    A refill is scheduled, in the background; try again once it has run."""

    code = "no_token_left"


class NoHealthyNodeError(UnavailableError):
    """None of the nodes a request was sealed to is healthy."""

    code = "no_healthy_node"


class ConfigfsRaceError(UnavailableError):
    """The configfs-tsm report entry changed while we used it; retry (ideally with a fresh name)."""

    code = "attestation_race"


# --- a fault of our own ----------------------------------------------------------------------


class InternalError(PrivcloudError):
    """A fault of our own: a self-check failed (e.g. a signature computed wrongly)."""

    http_status = 500
    code = "internal_error"


def _all_subclasses(cls: type[PrivcloudError]) -> list[type[PrivcloudError]]:
    found: list[type[PrivcloudError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def error_from_code(code: object, message: object, *, fault_of_peer: bool = True) -> PrivcloudError:
    """Rebuild the error a remote service reported as ``{"error": code, "message": ...}``.

    Unknown codes become a plain :class:`UpstreamError`. The message is the remote's fixed text,
    shortened; it never decides control flow.
    """
    text = message[:200] if isinstance(message, str) else "remote error"
    for cls in _all_subclasses(PrivcloudError):
        if cls.code == code:
            return cls(text)
    return UpstreamError(text) if fault_of_peer else PrivcloudError(text)


class DowngradeError(KeyConsistencyError):
    """Post-quantum protection was withheld: the client requires it (``require_post_quantum``)
    and the operator offered only classical keys, or a logged hybrid key the client proved
    earlier, still valid, is missing from what it was served (docs/adr/0014)."""

    code = "pq_downgrade"


class DeviceAttestationError(VerificationError):
    """A device's hardware key attestation is refused at enrolment (Android Keystore): the
    message starts with the reason (``challenge:``, ``security_level:``, ``root_of_trust:``,
    ``revoked:``, ``untrusted_root:``, ``expired:``, ``malformed:``, ...) (docs/adr/0016)."""

    code = "device_attestation"


class ReadOnlyLogError(PeerError):
    """A write (an operator's append) sent to a log reader, which serves reads only: send it
    to the log's sequencer (docs/transparency.md §8)."""

    http_status = 405
    code = "read_only_log"


#: What a peer says when it could not answer now (unreachable, overloaded, too slow, broken),
#: not what it would answer: a check that meets one of these decides nothing and is tried again
#: later. A device proving keys in the log must not take a log's 429 or 500 for a key the log
#: lacks (that is a refusal an operator's flood could force on whom it likes).
UNDECIDED_ERRORS: tuple[type[PrivcloudError], ...] = (
    UnavailableError,
    RateLimitedError,
    RequestTimeoutError,
    InternalError,
)
