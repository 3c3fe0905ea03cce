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

# --- Oblivious HTTP (RFC 9458) ---------------------------------------------------------------
MAX_OHTTP_KEY_CONFIGS: Final = 16
MAX_OHTTP_SUITES_PER_CONFIG: Final = 16
MAX_OHTTP_REQUEST: Final = MAX_HTTP_BODY
#: Largest plaintext in one chunk of a chunked OHTTP message.
MAX_OHTTP_CHUNK: Final = 1 * MiB

# --- Sealed envelope (docs/envelope.md) -----------------------------------------------------
MAX_ENVELOPE_RECIPIENTS: Final = 8
DEFAULT_ENVELOPE_RECIPIENTS: Final = 3
MAX_ENVELOPE_REQUEST: Final = MAX_HTTP_BODY
#: Largest plaintext in one chunk of a sealed response stream.
MAX_ENVELOPE_CHUNK: Final = 1 * MiB
#: Most chunks one sealed response stream may have.
MAX_ENVELOPE_CHUNKS: Final = 1_000_000

# --- Workloads -------------------------------------------------------------------------------
MAX_FEATURE_NAME: Final = 64
MAX_WORKLOAD_INPUT: Final = MAX_HTTP_BODY - 64 * KiB
