"""Every bound on a size or a wait that comes from outside, in one place (STYLE.md §7).

Decoders and services import these names; nothing else in the tree hard-codes a bound on
untrusted input. Change a value here and every hop follows.
"""

from __future__ import annotations

from typing import Final

KiB: Final = 1024
MiB: Final = 1024 * KiB

# --- HTTP shells -----------------------------------------------------------------------------
#: Largest HTTP request body any service accepts (an encapsulated request with audio inside).
MAX_HTTP_BODY: Final = 32 * MiB
#: Seconds a client may take to send a whole request body before it gets 408.
BODY_READ_TIMEOUT_S: Final = 10.0
#: Seconds a hop waits for the next hop's response headers.
UPSTREAM_CONNECT_TIMEOUT_S: Final = 5.0
#: Seconds a hop waits for the whole answer of the next hop (workloads can be slow).
UPSTREAM_TOTAL_TIMEOUT_S: Final = 300.0
#: Largest size of request headers the aiohttp parser accepts.
MAX_HTTP_FIELD_SIZE: Final = 8 * KiB
MAX_HTTP_LINE_SIZE: Final = 8 * KiB
#: Largest node directory or key configuration document a client accepts.
MAX_DIRECTORY_BYTES: Final = 1 * MiB

# --- Binary HTTP (RFC 9292) ------------------------------------------------------------------
MAX_BHTTP_MESSAGE: Final = MAX_HTTP_BODY
MAX_BHTTP_FIELDS: Final = 128
MAX_BHTTP_FIELD_SECTION: Final = 64 * KiB
MAX_BHTTP_NAME: Final = 256
MAX_BHTTP_VALUE: Final = 16 * KiB
MAX_BHTTP_CONTROL: Final = 8 * KiB
MAX_BHTTP_INFORMATIONAL: Final = 8
#: Largest content chunk of an indeterminate-length message the stream decoder buffers, and the
#: largest one the encoder writes.
MAX_BHTTP_CHUNK: Final = 1 * MiB
#: Most content chunks one indeterminate-length message may have: each costs the decoder a loop
#: turn, so without it MAX_BHTTP_MESSAGE bytes of two-byte chunks would cost seconds of CPU.
MAX_BHTTP_CHUNKS: Final = 1_000_000

# --- Oblivious HTTP (RFC 9458) ---------------------------------------------------------------
MAX_OHTTP_KEY_CONFIGS: Final = 16
MAX_OHTTP_SUITES_PER_CONFIG: Final = 16
MAX_OHTTP_REQUEST: Final = MAX_HTTP_BODY
#: Largest plaintext in one chunk of a chunked OHTTP message.
MAX_OHTTP_CHUNK: Final = 1 * MiB

# --- Sealed envelope (docs/envelope.md) -----------------------------------------------------
MAX_ENVELOPE_RECIPIENTS: Final = 8
DEFAULT_ENVELOPE_RECIPIENTS: Final = 3
#: Largest request envelope: it travels inside BHTTP inside OHTTP inside one HTTP body, so it
#: leaves 64 KiB of MAX_HTTP_BODY for the OHTTP header, AEAD tag and BHTTP control data/fields.
MAX_ENVELOPE_REQUEST: Final = MAX_HTTP_BODY - 64 * KiB
#: Largest plaintext in one chunk of a sealed response stream.
MAX_ENVELOPE_CHUNK: Final = 1 * MiB
#: Most chunks one sealed response stream may have.
MAX_ENVELOPE_CHUNKS: Final = 1_000_000

# --- Workloads -------------------------------------------------------------------------------
#: Longest feature name in a workload request.
MAX_FEATURE_NAME: Final = 64
#: Largest encoded workload request (feature, JSON parameters and body), the plaintext of one
#: request envelope: 64 KiB of MAX_ENVELOPE_REQUEST stay free for the envelope's own overhead.
MAX_WORKLOAD_INPUT: Final = MAX_ENVELOPE_REQUEST - 64 * KiB
#: Largest JSON parameter or metadata object in a workload request or response event.
MAX_WORKLOAD_JSON: Final = 256 * KiB

# --- Node directory (trust) ------------------------------------------------------------------
#: Most nodes one node directory document may list.
MAX_DIRECTORY_NODES: Final = 256
#: Largest attestation evidence one node entry of the directory may carry.
MAX_NODE_EVIDENCE: Final = 64 * KiB

# --- Privacy Pass (RFC 9577, RFC 9578) -------------------------------------------------------
#: Most challenges (of any scheme) one WWW-Authenticate value may carry.
MAX_PRIVACYPASS_AUTH_CHALLENGES: Final = 16
#: Most auth-params one challenge may carry.
MAX_PRIVACYPASS_AUTH_PARAMS: Final = 16
#: Largest max-age of a token challenge accepted, in seconds (one year).
MAX_PRIVACYPASS_CHALLENGE_MAX_AGE_S: Final = 366 * 24 * 3600
#: Most token keys one issuer directory may list.
MAX_PRIVACYPASS_DIRECTORY_TOKEN_KEYS: Final = 32
#: Largest encoded token key, in bytes (a 4096-bit RSASSA-PSS SPKI is about 600).
MAX_PRIVACYPASS_TOKEN_KEY_BYTES: Final = 2048
#: Longest issuer-request-uri in an issuer directory, in characters.
MAX_PRIVACYPASS_ISSUER_URI: Final = 2048

# --- Blind RSA (RFC 9474) --------------------------------------------------------------------
#: Smallest RSA modulus, in bits, a blind-RSA key from a peer may have.
MIN_BLINDRSA_MODULUS_BITS: Final = 2048
#: Largest RSA modulus, in bits, a blind-RSA key from a peer may have.
MAX_BLINDRSA_MODULUS_BITS: Final = 4096
#: Largest public exponent, in bits, of a blind-RSA key from a peer (RSAVP1 cost grows with it).
MAX_BLINDRSA_PUBLIC_EXPONENT_BITS: Final = 32

# --- Transparency log (RFC 9162, C2SP tlog-checkpoint, signed-note, tlog-cosignature) --------
#: Largest tree size accepted anywhere (fits a signed 64-bit integer; a checkpoint carries at
#: most 19 digits). With it, no valid proof is longer than MAX_TLOG_PROOF_HASHES.
MAX_TLOG_TREE_SIZE: Final = 2**63 - 1
#: Most hashes in an inclusion or consistency proof from a peer (see MAX_TLOG_TREE_SIZE).
MAX_TLOG_PROOF_HASHES: Final = 64
#: Largest signed note (text and signature lines), in bytes.
MAX_NOTE_BYTES: Final = 1 * MiB
#: Most signature lines one signed note may carry.
MAX_NOTE_SIGNATURES: Final = 100
#: Longest note verifier key string, in characters.
MAX_NOTE_VKEY_CHARS: Final = 4096
#: Default oldest witness cosignature a client accepts, in seconds.
MAX_TLOG_COSIGNATURE_AGE_S: Final = 24 * 3600.0
#: Default tolerance, in seconds, for cosignature timestamps ahead of the client's clock.
MAX_TLOG_CLOCK_SKEW_S: Final = 300.0
#: Most witnesses a client's transparency state may name.
MAX_TLOG_WITNESSES: Final = 32
#: Largest serialized client transparency state, in bytes.
MAX_TLOG_STATE_BYTES: Final = 2 * MiB

# --- Attestation evidence (AMD SEV-SNP, Intel TDX, configfs-tsm) -----------------------------
#: Largest ``Evidence.raw`` (a report or quote) accepted before parsing.
MAX_ATTEST_EVIDENCE_BYTES: Final = 64 * KiB
#: Largest ``Evidence.certificates`` accepted before parsing.
MAX_ATTEST_EVIDENCE_CERTIFICATES_BYTES: Final = 64 * KiB
#: Largest TDX quote accepted (a real one with its PCK chain is about 5 KiB).
MAX_TDX_QUOTE_BYTES: Final = 32 * KiB
#: Most entries of a SEV-SNP (GHCB) certificate table that are searched for the VCEK.
MAX_SEVSNP_CERT_TABLE_ENTRIES: Final = 16
#: Largest small configfs-tsm attribute read (generation, provider), in bytes.
MAX_CONFIGFS_TSM_ATTRIBUTE_BYTES: Final = 64

# --- X.509 (vendor attestation PKIs) ---------------------------------------------------------
#: Most certificates one PEM bundle or chain may hold (vendor chains have 2 to 3).
MAX_X509_CHAIN_CERTIFICATES: Final = 8
#: Largest certificate we parse (a PEM bundle may hold MAX_X509_CHAIN_CERTIFICATES of them).
MAX_X509_CERTIFICATE_BYTES: Final = 64 * KiB
#: Largest CRL we parse.
MAX_X509_CRL_BYTES: Final = 1 * MiB
