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
#: Seconds a server keeps a connection that has no complete request (headers trickling in, or
#: idle between requests). Above aiohttp clients' 15 s pooling, so a pooled connection is never
#: closed under a client that is about to reuse it. Also how long what a server sent may stay
#: unacknowledged (a peer that stops reading) before the system drops the connection.
HTTP_IDLE_TIMEOUT_S: Final = 75.0
#: Largest gateway key file read back (a JSON object with one private key).
MAX_GATEWAY_KEY_FILE_BYTES: Final = 4 * KiB
#: Most connections one service keeps open at once; more are closed unread.
MAX_SERVER_CONNECTIONS: Final = 4096
#: Most blocking workload requests a node runs at once, each on a thread of its own (models
#: serve one request at a time: more would only wait); more wait for one, up to their deadline
#: (privcloud.services.workload_threads).
MAX_NODE_WORKLOAD_THREADS: Final = 32
#: Most blocking workload requests a node keeps waiting for a thread while all
#: MAX_NODE_WORKLOAD_THREADS are taken; one more is refused at once (429), not queued. A waiting
#: request holds its opened envelope (up to MAX_ENVELOPE_REQUEST) until its deadline: without
#: this only the connection limits bounded the queue (a red-team review).
MAX_NODE_WORKLOAD_QUEUE: Final = 32
#: Most requests that wait at once for any one model while another holds it (a streamed answer holds
#: its model across its events) or loads it (the first request does); one more is refused at once
#: (429), not queued, as at MAX_CONCURRENT_ERASE. Each waiter keeps one of the node's
#: MAX_NODE_WORKLOAD_THREADS: one stream and 31 requests for its model took them all, and every
#: other feature waited for its whole deadline (a red-team review). Live pipelines' waits are not
#: counted: live sessions have their own bound (MAX_LIVE_SESSIONS_PER_NODE) and take no workload
#: thread.
MAX_MODEL_WAITERS: Final = 8
#: Most requests that wait for a model at once, all models together (one more is refused, 429):
#: with one holder per model (8 models) at most 24 of the MAX_NODE_WORKLOAD_THREADS hold or
#: wait for a model, and the rest are left to the features that need no busy model.
MAX_MODEL_WAITERS_TOTAL: Final = 16
#: Most connections one client pool (privcloud.netio) holds to the next hops at once, for
#: ordinary requests and document fetches; more wait for one to come free. The hops' one-shot
#: client (privcloud.netio.hop) holds at most this many exchanges in flight and as many idle
#: connections. Live tunnels hold their connections for minutes and have a pool of their own
#: (MAX_LIVE_TUNNELS).
MAX_UPSTREAM_CONNECTIONS: Final = 256
#: Slowest average rate, in bytes per second, at which a request body must arrive after the
#: BODY_READ_TIMEOUT_S grace (64 KiB/s: a poor mobile uplink still sends 32 MiB in ~9 min).
MIN_BODY_RATE_BPS: Final = 64 * KiB
#: Slowest average rate, in bytes per second, at which a peer must take (acknowledge) an answer
#: the relay holds for it (services.answers: its passed-through documents and log reads),
#: counted over the time the relay waits on the peer, after the ANSWER_READ_GRACE_S grace;
#: slower, the relay resets the connection. 8 KiB/s (64 kbit/s): a throttled or 2G link still
#: reads the largest node directory; 64 KiB/s, first chosen, reset devices reading at 32 KiB/s
#: after about 640 KiB (a review, 2026-12-07). Before any, a peer reading 16 KiB/s held a 6.4 MB
#: log page (8.7 MiB of the relay's memory) for as long as it liked; now at most its address's
#: share of the answer budget (MAX_INFLIGHT_ANSWER_BYTES_PER_PEER), at 8 KiB/s.
MIN_ANSWER_READ_RATE_BPS: Final = 8 * KiB
#: Seconds of waiting on a peer that does not take its answer before MIN_ANSWER_READ_RATE_BPS
#: applies: a mobile link's stall, as BODY_READ_TIMEOUT_S is for bodies. A peer that never
#: reads is dropped after about this long (before: after HTTP_IDLE_TIMEOUT_S, 75 s, its
#: answer held all along).
ANSWER_READ_GRACE_S: Final = 10.0
#: Seconds a hop waits for the whole answer of the next hop (workloads can be slow).
UPSTREAM_TOTAL_TIMEOUT_S: Final = 300.0
#: Seconds a hop or a client waits for the next bytes of a streamed answer; a stream may last
#: longer than UPSTREAM_TOTAL_TIMEOUT_S (live transcription) as long as it keeps moving.
UPSTREAM_READ_IDLE_TIMEOUT_S: Final = 120.0
#: Seconds a hop keeps an idle pooled connection to the next hop (privcloud.netio.hop) before
#: it closes it unused: below HTTP_IDLE_TIMEOUT_S, so a hop never reuses a connection the next
#: hop is closing (aiohttp's client pools use the same 15 s).
UPSTREAM_POOL_IDLE_S: Final = 15.0
#: Largest response head (status line and every header field) a hop accepts from the next hop.
MAX_UPSTREAM_HEAD_BYTES: Final = 64 * KiB
#: Most chunks of a chunked answer a hop takes from the next hop: llhttp calls into Python
#: for each, so one-byte chunks would cost about 1.5 s of CPU within MAX_HTTP_BODY's wire
#: bound. A node's streamed answer is one chunk per event (a token of a chat, say), far below.
#: Chunks are counted, not reads: how a body with a Content-Length arrives is the network's.
MAX_UPSTREAM_BODY_CHUNKS: Final = 65_536
#: Largest header field, its name and value together, the aiohttp parser accepts (one field: a
#: whole head is bounded by MAX_HTTP_HEADERS and MAX_HTTP_HEAD_BYTES).
MAX_HTTP_FIELD_SIZE: Final = 8 * KiB
#: Longest HTTP request or status line the aiohttp parser accepts.
MAX_HTTP_LINE_SIZE: Final = 8 * KiB
#: Most header fields of one request (aiohttp's ``max_headers``; its default is 128). Our
#: clients send a dozen at most (a token batch: five of its own), a browser at the device
#: console about twenty.
MAX_HTTP_HEADERS: Final = 64
#: Largest request head (request line and fields) a service reads; one longer is answered 431
#: and closed (services.site). aiohttp bounds a head only field by field, so each connection
#: could hold an unfinished head of ~1 MiB for HTTP_IDLE_TIMEOUT_S: 200 of them took a relay
#: from 50 to 444 MiB (a red-team review). Counted as bytes arrive, so a head is read at most
#: one socket read past this. As MAX_UPSTREAM_HEAD_BYTES, the bound on an answer's head.
MAX_HTTP_HEAD_BYTES: Final = 64 * KiB
#: Largest request head the one-shot lane serves (services.lane, ADR 0032); a longer one, and a
#: body over LANE_MAX_BODY_BYTES, goes to the aiohttp server and its bounds above.
LANE_MAX_HEAD_BYTES: Final = MAX_HTTP_FIELD_SIZE
#: Largest request body the one-shot lane serves: a hop's envelope (a few KiB) fits, an image
#: upload does not (it streams through aiohttp's read_body, bounded by rate).
LANE_MAX_BODY_BYTES: Final = 64 * KiB
#: Bytes a lane connection holds unread while it answers (a peer sending its next requests
#: before reading the answers); past this it stops reading until the answer is out.
LANE_MAX_BUFFERED_BYTES: Final = LANE_MAX_HEAD_BYTES + LANE_MAX_BODY_BYTES
#: Largest public document (OHTTP key configurations, issuer directory, one node's
#: descriptor) a party accepts.
MAX_DIRECTORY_BYTES: Final = 1 * MiB
#: Largest node directory a client accepts (256 nodes with hardware bundles of ~5 KiB each).
MAX_NODE_DIRECTORY_BYTES: Final = 4 * MiB
#: Largest error body of the gateway's own (malformed request, unknown key ...) a relay passes
#: back to a device.
MAX_RELAYED_GATEWAY_ERROR: Final = 64 * KiB
#: Largest transparency-log read (checkpoint, proof, page of entries) a relay passes through.
MAX_RELAYED_LOG_RESPONSE: Final = 8 * MiB

# --- JSON from a peer or from disk (privcloud.wire.jsonio) -----------------------------------
#: Deepest nesting of JSON arrays and objects any decoder accepts. ``json.loads`` recurses once
#: per level, so without this bound a few thousand ``[`` (under every size bound) would raise
#: RecursionError. Our deepest documents (a node directory carrying a release configuration
#: nested MAX_RELEASE_CONFIG_DEPTH deep) need about 25.
MAX_JSON_DEPTH: Final = 64
#: Largest JSON document decoded where the call site has no tighter bound of its own.
MAX_JSON_BYTES: Final = 1 * MiB

# --- Binary HTTP (RFC 9292) ------------------------------------------------------------------
#: Largest Binary HTTP message (content, or a whole streamed message) decoded or encoded.
MAX_BHTTP_MESSAGE: Final = MAX_HTTP_BODY
#: Most field lines in one header or trailer section.
MAX_BHTTP_FIELDS: Final = 128
#: Largest encoded header or trailer section, in bytes.
MAX_BHTTP_FIELD_SECTION: Final = 64 * KiB
#: Longest field name, in bytes.
MAX_BHTTP_NAME: Final = 256
#: Longest field value, in bytes.
MAX_BHTTP_VALUE: Final = 16 * KiB
#: Longest control datum (method, scheme, authority, path), in bytes.
MAX_BHTTP_CONTROL: Final = 8 * KiB
#: Most informational (1xx) responses before the final one.
MAX_BHTTP_INFORMATIONAL: Final = 8
#: Largest content chunk of an indeterminate-length message the stream decoder buffers, and the
#: largest one the encoder writes.
MAX_BHTTP_CHUNK: Final = 1 * MiB
#: Most content chunks one indeterminate-length message may have: each costs the decoder a loop
#: turn, so without it MAX_BHTTP_MESSAGE bytes of two-byte chunks would cost seconds of CPU.
MAX_BHTTP_CHUNKS: Final = 1_000_000

# --- Oblivious HTTP (RFC 9458) ---------------------------------------------------------------
#: Most key configurations one ``application/ohttp-keys`` document may carry.
MAX_OHTTP_KEY_CONFIGS: Final = 16
#: Most symmetric suites one key configuration may list.
MAX_OHTTP_SUITES_PER_CONFIG: Final = 16
#: Largest encapsulated request (``message/ohttp-req``) a gateway decapsulates.
MAX_OHTTP_REQUEST: Final = MAX_HTTP_BODY
#: Largest plaintext in one chunk of a chunked OHTTP message.
MAX_OHTTP_CHUNK: Final = 1 * MiB
#: Most chunks, the final one counted, of one chunked OHTTP request (``message/ohttp-chunked-req``)
#: a gateway decapsulates (privcloud.ohttp.chunked, rule 8). Each costs a loop turn and an AEAD
#: open (~10 µs), and a gateway opens a request before it checks its token: MAX_OHTTP_REQUEST of
#: one-byte chunks (18 bytes each on the wire, 1.86 million) held its event loop for 14 s (a
#: red-team review); this many cost ~40 ms. The SDK cuts a request into chunks of
#: MAX_OHTTP_CHUNK (32 for the largest); a sender cutting at 8 KiB, half the 16 KiB the draft
#: has every receiver take (§3), fits the largest request (the draft's example has 3).
MAX_OHTTP_REQUEST_CHUNKS: Final = MAX_OHTTP_REQUEST // (8 * KiB)
#: Bytes on the wire a chunked OHTTP request's chunks must average, past its first
#: OHTTP_REQUEST_SMALL_CHUNKS (privcloud.ohttp.chunked, rule 8): under MAX_OHTTP_REQUEST_CHUNKS
#: alone, 4,095 one-byte chunks (73 KB) still cost a gateway 24 ms of its loop, 130 times what
#: the same bytes in one chunk cost, before any token is checked (a review, 2026-12-07). The
#: SDK's chunks are of MAX_OHTTP_CHUNK; a sender cutting at 8 KiB is far above this.
MIN_OHTTP_REQUEST_CHUNK_AVERAGE: Final = 1 * KiB
#: Non-final chunks any chunked OHTTP request may have, whatever their size (the draft's
#: example has 3; a client cutting a short request into pieces as it writes them).
OHTTP_REQUEST_SMALL_CHUNKS: Final = 16

# --- Sealed envelope (docs/envelope.md) -----------------------------------------------------
#: Most recipients (node keys) one request envelope may be sealed to.
MAX_ENVELOPE_RECIPIENTS: Final = 8
#: Recipients a client seals to unless told otherwise.
DEFAULT_ENVELOPE_RECIPIENTS: Final = 3
#: Largest request envelope: it travels inside BHTTP inside OHTTP inside one HTTP body, so it
#: leaves 64 KiB of MAX_HTTP_BODY for the OHTTP header, AEAD tag and BHTTP control data/fields.
MAX_ENVELOPE_REQUEST: Final = MAX_HTTP_BODY - 64 * KiB
#: Largest plaintext in one chunk of a sealed response stream: sealed (5-byte chunk header,
#: padded to at most its top bucket, AEAD tag) and framed as Binary HTTP content (a varint of
#: at most 8 bytes), one node chunk fits one chunked-OHTTP chunk (MAX_OHTTP_CHUNK), so the
#: gateway forwards the node's chunks as they are. tests/unit/test_limits.py checks the arithmetic.
MAX_ENVELOPE_CHUNK: Final = MAX_OHTTP_CHUNK - 64 * KiB - 4
#: Largest chunk ciphertext of any suite: MAX_ENVELOPE_CHUNK framed (the top bucket of a chunk:
#: MAX_OHTTP_CHUNK - 64 KiB) plus the largest AEAD tag (16). What the gateway, which has
#: no key, accepts when it splits a node's stream into chunks (envelope.StreamFramer).
MAX_ENVELOPE_CHUNK_CIPHERTEXT: Final = MAX_OHTTP_CHUNK - 64 * KiB + 16
#: Most chunks one sealed response stream may have.
MAX_ENVELOPE_CHUNKS: Final = 1_000_000
#: Most chunks, the final one counted, of one chunked OHTTP response (``message/ohttp-chunked-res``)
#: a client opens (privcloud.ohttp.chunked, rule 8): the gateway sends the inner response's head,
#: the node stream's header and each of its at most MAX_ENVELOPE_CHUNKS chunks as one chunk
#: apiece, then the final chunk. Without it only HPKE's sequence limit (2^96) bounded them.
MAX_OHTTP_RESPONSE_CHUNKS: Final = MAX_ENVELOPE_CHUNKS + 3

# --- Workloads -------------------------------------------------------------------------------
#: Longest feature name in a workload request.
MAX_FEATURE_NAME: Final = 64
#: Largest encoded workload request (feature, JSON parameters and body), the plaintext of one
#: request envelope: 64 KiB of MAX_ENVELOPE_REQUEST stay free for the envelope's own overhead.
MAX_WORKLOAD_INPUT: Final = MAX_ENVELOPE_REQUEST - 64 * KiB
#: Largest JSON parameter or metadata object in a workload request or response event.
MAX_WORKLOAD_JSON: Final = 256 * KiB
#: Largest single workload event (one partial or final result, e.g. an image) in a response.
MAX_WORKLOAD_EVENT: Final = MAX_HTTP_BODY
#: Most partial events the ``echo_stream`` workload's ``parts`` parameter may ask for.
MAX_ECHO_PARTS: Final = 1024

# --- AI workloads (docs/features.md) ---------------------------------------------------------
#: Longest audio a transcription or speech translation accepts, in seconds of decoded sound
#: (16 kHz mono float32: 30 minutes is 115 MB in memory).
MAX_AUDIO_SECONDS: Final = 30 * 60
#: Shortest audio worth sending to Whisper, in seconds (shorter is answered with an error).
MIN_AUDIO_SECONDS: Final = 0.1
#: Most audio streams or packets the decoder looks at before it gives up on a file.
MAX_AUDIO_PACKETS: Final = 2_000_000
#: Lowest sample rate (Hz) of an audio stream or frame the decoder accepts: a FLAC frame holds
#: up to 65,535 samples, so at a few hertz one tiny frame resamples to gigabytes at 16 kHz.
MIN_AUDIO_SAMPLE_RATE: Final = 4_000
#: Highest sample rate (Hz) of an audio stream or frame the decoder accepts (studio rates top
#: out at 384 kHz).
MAX_AUDIO_SAMPLE_RATE: Final = 384_000
#: Most channels an audio stream or frame may have (7.1 surround is 8; FLAC's own maximum).
MAX_AUDIO_CHANNELS: Final = 8
#: Longest text (characters) a summary, text translation or extraction takes as its source.
MAX_SOURCE_TEXT_CHARS: Final = 100_000
#: Most model contexts (chunks) one summary reads; text past them is left out, and said so.
MAX_SUMMARY_CHUNKS: Final = 4
#: Longest text (characters) one text translation takes: it runs the language model once per
#: piece (a sentence; short ones merged; ~0.5 s each on 2 cores), at most MAX_TRANSLATION_CALLS.
MAX_TRANSLATION_CHARS: Final = 5_000
#: Most language-model calls one text translation makes: short sentences are merged into one
#: prompt so that a text of many tiny sentences ("a. a. a. ...") does not hold the model for
#: thousands of calls; past it the request is refused.
MAX_TRANSLATION_CALLS: Final = 64
#: Longest piece (characters) the phrasebook of conversational formulas reads
#: (privcloud.workloads.translate_phrasebook): formulas are short, and reading a longer piece
#: word by word against every form is work for nothing; longer ones go to the model.
PHRASEBOOK_MAX_CHARS: Final = 80
#: Most words of a piece the phrasebook reads (its reading is quadratic in them).
PHRASEBOOK_MAX_WORDS: Final = 12
#: Most tokens a summary or text translation may generate.
MAX_GENERATED_TOKENS: Final = 512
#: Most items one search request may carry.
MAX_SEARCH_ITEMS: Final = 2_000
#: Longest search item, in characters.
MAX_SEARCH_ITEM_CHARS: Final = 20_000
#: Most passages (items cut into ~160-word windows) one search embeds: ~9 passages/s on 2 cores.
MAX_SEARCH_PASSAGES: Final = 2_000
#: Longest search query, image prompt or other short text parameter (characters).
MAX_QUERY_CHARS: Final = 2_000
#: Most results a search may return.
MAX_SEARCH_RESULTS: Final = 100
#: Largest side of a generated image, in pixels.
MAX_IMAGE_SIDE: Final = 1024
#: Smallest side of a generated image, in pixels.
MIN_IMAGE_SIDE: Final = 32
#: Most denoising steps one image may take.
MAX_IMAGE_STEPS: Final = 100
#: Most items (events, reminders, alarms, contacts) one extraction returns.
MAX_EXTRACTED_ITEMS: Final = 200
#: Longest identifier-like text parameter (language code, model name, time zone).
MAX_NAME_PARAM_CHARS: Final = 64
#: Largest error body (inside OHTTP) a client reads to learn what went wrong.
MAX_REMOTE_ERROR_BODY: Final = 64 * KiB

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
#: Largest signed note accepted, in bytes (C2SP signed-note: verifiers SHOULD bound the size).
MAX_NOTE_BYTES: Final = 1 * MiB
#: Most signature lines in one note (C2SP: MUST accept at least 16; Go stops at 100).
MAX_NOTE_SIGNATURES: Final = 100
#: Longest note verifier key string accepted, in characters.
MAX_NOTE_VKEY_CHARS: Final = 4096
#: Default oldest acceptable witness cosignature, in seconds before ``now``.
MAX_TLOG_COSIGNATURE_AGE_S: Final = 24 * 3600.0
#: Default tolerance for witness clocks ahead of ours, in seconds.
MAX_TLOG_CLOCK_SKEW_S: Final = 300.0
#: Most witnesses one log's trust policy (and a stored client state) may name.
MAX_TLOG_WITNESSES: Final = 32
#: Largest serialised client state accepted (it holds one signed note of at most MAX_NOTE_BYTES).
MAX_TLOG_STATE_BYTES: Final = 2 * MAX_NOTE_BYTES

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
#: Longest region or provider label a node binds into its report data (attest.NodeClaims: one
#: length byte).
MAX_NODE_CLAIM_LABEL_BYTES: Final = 255

# --- X.509 (vendor attestation PKIs) ---------------------------------------------------------
#: Most certificates one PEM bundle or chain may hold (vendor chains have 2 to 3).
MAX_X509_CHAIN_CERTIFICATES: Final = 8
#: Largest certificate we parse (a PEM bundle may hold MAX_X509_CHAIN_CERTIFICATES of them).
MAX_X509_CERTIFICATE_BYTES: Final = 64 * KiB
#: Largest CRL we parse.
MAX_X509_CRL_BYTES: Final = 1 * MiB

# --- Release manifests, node bundles and admission (trust) -----------------------------------
# (block added with privcloud.release / privcloud.trust.bundle; keep it together)
#: Largest canonical release manifest (one transparency-log entry) accepted.
MAX_RELEASE_MANIFEST_BYTES: Final = 64 * KiB
#: Most locked dependencies one release manifest may list.
MAX_RELEASE_DEPENDENCIES: Final = 1024
#: Most model files one release manifest may list.
MAX_RELEASE_MODELS: Final = 256
#: Largest canonical node configuration a release manifest may carry.
MAX_RELEASE_CONFIG_BYTES: Final = 16 * KiB
#: Deepest nesting of JSON arrays and objects in a release manifest's node configuration.
MAX_RELEASE_CONFIG_DEPTH: Final = 16
#: Largest node bundle (evidence, manifest, checkpoint, inclusion proof) accepted.
MAX_NODE_BUNDLE_BYTES: Final = 256 * KiB
#: Oldest node bundle (and evidence that carries its own time) a client admits, in seconds.
MAX_NODE_BUNDLE_AGE_S: Final = 24 * 3600.0
#: Tolerance for a node's clock ahead of the client's, in seconds.
NODE_BUNDLE_CLOCK_SKEW_S: Final = 300.0
#: Seconds between two refreshes of a node's bundle (new evidence time, fresh proof).
NODE_BUNDLE_REFRESH_S: Final = 3600.0
#: Seconds before a node that has no proof of its release in the log yet asks the log again.
NODE_LOG_PROOF_RETRY_S: Final = 2.0

# --- Transparency log and witness services (privcloud.services.tlog / .witness) --------------
# (block added with the log service, the witness and the SDK log client; keep it together)
#: Largest entry (a release manifest) the log accepts; a bigger append gets 413.
MAX_TLOG_ENTRY_BYTES: Final = 256 * KiB
#: Most entries one ``GET /v1/entries`` may ask for.
MAX_TLOG_ENTRIES_PER_READ: Final = 1024
#: Most entry bytes (before base64) in one ``GET /v1/entries`` answer: past it the log returns
#: fewer entries than asked for (always at least one).
MAX_TLOG_ENTRIES_READ_BYTES: Final = 4 * MiB
#: Largest answer a log client reads from the log (an entries page in base64, with framing).
MAX_TLOG_RESPONSE_BYTES: Final = 6 * MiB
#: Most public reads (proofs, entries, tiles) waiting at once for a log's store thread; one
#: more gets 429. Appends and checkpoint signing pass the queued reads (services/store_thread.py).
MAX_TLOG_QUEUED_READS: Final = 256
#: Seconds either side of the log's clock in which an operator's signed append is accepted.
TLOG_AUTH_WINDOW_S: Final = 300.0
#: Most operator request signatures the log remembers at once (replays are refused).
MAX_TLOG_AUTH_TAGS: Final = 100_000
#: Least seconds between two checkpoints the log signs; appends in between are batched.
TLOG_CHECKPOINT_INTERVAL_S: Final = 0.5
#: Seconds after which the log asks its witnesses to cosign an unchanged checkpoint again, so
#: that its cosignatures stay fresh for clients (they accept cosignatures up to a day old).
TLOG_COSIGN_REFRESH_S: Final = 3600.0
#: Seconds before the log asks again a witness that failed or was unreachable.
TLOG_WITNESS_RETRY_S: Final = 5.0
#: Seconds the log waits for one witness to answer.
TLOG_WITNESS_TIMEOUT_S: Final = 5.0
#: Largest C2SP add-checkpoint request a witness accepts: the old-size line, at most 63 proof
#: lines and a signed checkpoint note of at most MAX_NOTE_BYTES.
MAX_WITNESS_REQUEST_BYTES: Final = MAX_NOTE_BYTES + 8 * KiB
#: Largest witness answer (cosignature lines) the log reads.
MAX_WITNESS_RESPONSE_BYTES: Final = 16 * KiB
#: Most log origins one witness is configured for.
MAX_WITNESS_LOGS: Final = 1024

# --- Anonymous tokens: issuer, redemption, wallet (issue 3) ----------------------------------
# (block added with privcloud.services.issuer / redemption and privcloud.sdk.wallet; keep it
# together)
#: Most TokenRequests one batch issuance request may carry (and TokenResponses it gets back).
MAX_TOKEN_BATCH: Final = 64
#: Largest batch issuance request body: a length varint and MAX_TOKEN_BATCH type-2 requests.
MAX_TOKEN_BATCH_REQUEST_BYTES: Final = 8 + MAX_TOKEN_BATCH * 259
#: Largest batch issuance response a wallet reads (each response framed by a varint).
MAX_TOKEN_BATCH_RESPONSE_BYTES: Final = 8 + MAX_TOKEN_BATCH * (8 + 512)
#: Largest device enrolment request body the issuer reads.
MAX_ENROLMENT_BODY_BYTES: Final = 4 * KiB
#: Longest one-time enrolment code accepted, in characters.
MAX_ENROLMENT_CODE_CHARS: Final = 64
#: How far a signed issuance request's timestamp may be from the issuer's clock, in seconds;
#: request nonces are remembered this long (both sides of the window) to refuse replays.
ISSUANCE_REQUEST_WINDOW_S: Final = 120.0
#: Seconds a wallet or a gateway waits for the issuer (directory, enrolment, a batch).
ISSUER_TIMEOUT_S: Final = 30.0
#: Seconds a process waits for another's write lock on an embedded SQLite store before it
#: answers 503 (spent tokens, issuer state).
SQLITE_BUSY_TIMEOUT_S: Final = 5.0
#: Largest wallet file a device reads back.
MAX_WALLET_FILE_BYTES: Final = 4 * MiB
#: Most tokens a wallet holds (a fetch never goes past it).
MAX_WALLET_TOKENS: Final = 1024
#: Most type-2 keys an issuer directory may list as valid at one time, for a wallet: rotation
#: overlap needs two; more would let an issuer hand devices keys of their own (key partitioning).
MAX_ISSUER_VALID_KEYS: Final = 2
#: Seconds a gateway keeps a spent token's row past its key's expiry before purging it, so that
#: a gateway process whose clock runs behind (and still accepts the key) cannot accept it again.
SPENT_TOKEN_PURGE_SKEW_S: Final = 600
#: Granularity, in seconds, of the expiry the issuer stores with an issuance request's nonce
#: (rounded up to it), so its records hold no precise time of issuance.
ISSUANCE_NONCE_EXPIRY_BUCKET_S: Final = 600

# --- Key consistency: logged key statements (docs/adr/0009-key-consistency.md) ----------------
#: Largest key statement (one transparency-log entry naming an OHTTP key configuration or an
#: issuer token key with its validity).
MAX_KEY_STATEMENT_BYTES: Final = 4 * KiB
#: Longest validity a key statement may claim, in seconds: a key for longer is refused, so a
#: logged key cannot stay usable for ever.
MAX_KEY_STATEMENT_VALIDITY_S: Final = 31 * 24 * 3600
#: Seconds a statement's ``not_before`` may lie ahead of the device's clock (clock skew).
KEY_STATEMENT_SKEW_S: Final = 60
#: Most key statements a gateway's statement list may carry.
MAX_KEY_STATEMENTS: Final = 16
#: Validity of every node directory statement (docs/adr/0033), in seconds: it starts at a
#: multiple of half of it and lasts it whole; a device refuses any other. The gateway logs a
#: new one at each half, so the one it serves has at least half of it left.
DIRECTORY_STATEMENT_LIFETIME_S: Final = 3600
#: Seconds into a step of the grid for which a device still takes the statement of the step
#: before (its gateway logs the new one within seconds): a device refuses a directory statement
#: with less than half DIRECTORY_STATEMENT_LIFETIME_S left, less this. A gateway that served
#: every device the older of the two valid statements would make every admission end at one
#: grid time, and could then push all of them onto a request's path at once (docs/adr/0009,
#: decision 7, a fourth review).
DIRECTORY_STATEMENT_LATE_S: Final = 300
#: Seconds a gateway key must stay valid for the directory statement to name it (devices choose
#: among the keys it names; docs/adr/0009, decision 7): more than READMIT_MARGIN_S, so that a
#: device's background admissions before its key's end find a statement without it.
DIRECTORY_KEY_AHEAD_S: Final = 300
#: Most directory statements of one gateway a log audit accepts as valid at one instant
#: (``privcloud log audit``, ``--most-directories``): two for a steady node set (two steps),
#: one more for each node that came up or restarted within the hour (a rolling restart of a
#: dozen nodes stays under it); a directory per device gives as many as devices.
MAX_DIRECTORIES_VALID_AT_ONCE: Final = 16
#: Largest node directory statement (a log entry: a 32-byte key id and a 32-byte digest, in
#: base64, per node of at most MAX_DIRECTORY_NODES, and the service name and validity; below
#: the tiled log's largest entry).
MAX_DIRECTORY_STATEMENT_BYTES: Final = 100 * MAX_DIRECTORY_NODES + 1 * KiB
#: Largest statement list (``GET /v1/key-statements``) a client reads.
MAX_KEY_STATEMENTS_DOC_BYTES: Final = 64 * KiB
#: Most OHTTP key configurations of one gateway a device accepts as valid at one time: rotation
#: needs two; more would let a gateway give devices keys of their own (key partitioning).
MAX_OHTTP_VALID_KEYS: Final = 2
#: Default lifetime of a gateway OHTTP key (``privcloud gateway-key new``).
OHTTP_KEY_LIFETIME_S: Final = 7 * 24 * 3600
#: Shortest validity of a gateway's hybrid post-quantum OHTTP key the log audit accepts: a
#: gateway rotating keys shorter than its directory statements' steps could hand over between
#: two at every step, neither due to be named, and name only classical keys unseen (ADR 0033).
MIN_HYBRID_KEY_VALIDITY_S: Final = 24 * 3600
#: A gap shorter than this between the times two hybrid keys of a gateway are named (the
#: successor begun too late) is no gap to the log audit's downgrade rule: a gap of a second
#: exempted its whole step, so one could be timed into any rotation (a review). An operator
#: makes the successor at least 10 minutes ahead (docs/operations.md) and leaves none.
MAX_HYBRID_KEY_GAP_S: Final = DIRECTORY_STATEMENT_LIFETIME_S // 2
#: The one schedule of every issuer's token keys (docs/adr/0009, decision 8): a key begins on
#: a multiple of this (Unix time), and a wallet fetches only under the key of the step it is
#: in. A schedule of the issuer's choosing let it give keys to short windows of fetches, each
#: key id on a token then naming the few devices that fetched in its window (a review).
ISSUER_KEY_STEP_S: Final = 6 * 24 * 3600
#: How long every issuer token key lasts: a step and a day, so a key and its successor overlap
#: by a day (tokens of the old key stay spendable while wallets move to the new one).
ISSUER_KEY_LIFETIME_S: Final = 7 * 24 * 3600
#: When the rule of a shortest validity for hybrid gateway keys began (2026-12-07 00:00 UTC):
#: the log audit holds hybrid keys beginning before it to none (an append-only log keeps them
#: for ever). Issuer keys need no date: an issuer's keys logged before its first key on the
#: schedule are an earlier release's (``privcloud log audit``, ADR 0009 decision 8).
HYBRID_KEY_RULE_SINCE: Final = 1_796_601_600
#: Seconds between a gateway's re-reads of its key directory (rotation without a restart).
GATEWAY_KEY_RELOAD_S: Final = 5.0

# --- Node request hardening: issue time, deadline, replay cache (docs/envelope.md §8) ---------
# (block added with the workload request v2 and the node's replay cache; keep it together)
#: Seconds a workload request's issue time may lie ahead of the node's clock (device clocks
#: that drift); a request issued further in the future is refused.
REQUEST_CLOCK_SKEW_S: Final = 120.0
#: Oldest workload request a node runs, in seconds since its issue time: the slowest allowed
#: upload of the largest body (BODY_READ_TIMEOUT_S grace, then MIN_BODY_RATE_BPS), plus the
#: clock skew of a device whose clock is behind the node's.
MAX_REQUEST_AGE_S: Final = (
    BODY_READ_TIMEOUT_S + MAX_HTTP_BODY / MIN_BODY_RATE_BPS + REQUEST_CLOCK_SKEW_S
)
#: Longest deadline a workload request may carry, in seconds from its issue time (a streamed
#: answer may outlast UPSTREAM_TOTAL_TIMEOUT_S: the hops bound only its idle time).
MAX_REQUEST_DEADLINE_S: Final = 1800
#: Deadline of a request whose feature is not in REQUEST_DEADLINES_S, in seconds from its issue
#: time: the client's own wait for a whole answer (UPSTREAM_TOTAL_TIMEOUT_S).
DEFAULT_REQUEST_DEADLINE_S: Final = 300
#: Default deadline per feature (seconds from the issue time), when the request names none.
REQUEST_DEADLINES_S: Final = {"echo": 60, "echo_stream": 60, "extract": 60, "search": 120}
#: Most envelope hashes a node's replay cache holds (about 200 bytes each: ~54 MB when full).
#: An entry is kept until its request could no longer run (issue time + the smaller of its
#: deadline and MAX_REQUEST_AGE_S); when the cache is full the node refuses new requests
#: (RateLimitedError) rather than forget an entry early.
MAX_REPLAY_CACHE_ENTRIES: Final = 262_144

# --- Start-up integrity checks of the stores (storage/sqlite.py, storage/tlog_store.py) -------
#: An SQLite store of at most this size gets ``PRAGMA integrity_check`` at start (every index
#: compared with its table: ~2.8 s for 200 MB on a shared 2-core VM); a bigger one ``PRAGMA
#: quick_check`` (page structure only, ~10x faster, blind to a flipped byte inside a row).
SQLITE_FULL_CHECK_MAX_BYTES: Final = 256 * MiB
#: A transparency log whose database is at most this size re-hashes, at start, every entry
#: against its leaf hash and every stored subtree hash against its two children, so the root
#: matched against its signed checkpoint covers every stored byte (~3 s for 1M entries, 200 MB).
TLOG_VERIFY_ALL_MAX_BYTES: Final = 256 * MiB
#: A bigger log checks at start its newest this many leaves and TLOG_VERIFY_SAMPLE_LEAVES
#: others drawn at random: each entry re-hashed against its leaf hash and its inclusion path
#: recomputed to the root (~0.6 s in all; ``privcloud log audit`` checks every entry).
TLOG_VERIFY_EDGE_LEAVES: Final = 1024
#: Leaves a bigger log draws at random at each start, besides its newest (a new draw each time).
TLOG_VERIFY_SAMPLE_LEAVES: Final = 4096

# --- Floods and lock-outs: logs, request bodies and answers together, connections per peer ----
# (block added with services/http.py's budget and connection guard and cli/runtime.py's log
# set-up; keep it together; docs/operations.md#logs-and-floods)
#: Request-body bytes one service holds at once, all requests together (services.http
#: BodyBudget), reserved as they arrive (never as declared): a request whose bytes do not fit
#: gets 503. Four bodies of the largest size; a process holds at most about twice this at a
#: moment (a body is joined once).
MAX_INFLIGHT_BODY_BYTES: Final = 4 * MAX_HTTP_BODY
#: Share of MAX_INFLIGHT_BODY_BYTES the bodies from one peer address (an IPv6 /64 counts as
#: one) may hold at once at a service whose peers are devices (the relay, the issuer); past it the
#: request gets 429. One body of the largest size, so a device can always send one, while four
#: addresses are needed to fill the budget (before, one address declaring four 32 MiB bodies
#: and sending 70 KiB/s of them held the whole budget for minutes: every device got 503).
#: Devices behind one NAT share it, as they share MAX_RELAY_CONNECTIONS_PER_PEER: their
#: uploads together hold at most 32 MiB at a moment (one over it gets 429, rate_limited, and
#: may try again shortly; envelopes of a few KiB hardly count).
MAX_INFLIGHT_BODY_BYTES_PER_PEER: Final = MAX_HTTP_BODY
#: Answer bytes the relay holds at once for the documents and log reads it passes through
#: (services.answers), all requests together, from their first byte read upstream until the
#: peer has taken them; past it a read gets 503. Eight of the largest log pages
#: (MAX_RELAYED_LOG_RESPONSE): before, 48 connections asking for a 6.4 MB page and reading
#: nothing took the relay from 50 to 468 MiB resident, for 75 s.
MAX_INFLIGHT_ANSWER_BYTES: Final = 8 * MAX_RELAYED_LOG_RESPONSE
#: Share of MAX_INFLIGHT_ANSWER_BYTES the answers to one peer address may hold at the relay
#: (429 past it): one largest log page, so a device can always read one, while eight addresses
#: are needed to fill the budget. Devices behind one NAT share it (429: try again shortly).
MAX_INFLIGHT_ANSWER_BYTES_PER_PEER: Final = MAX_RELAYED_LOG_RESPONSE
#: Most connections one peer address (an IPv6 /64 counts as one) may hold open at the relay,
#: which devices reach for everything but the issuer; MAX_SERVER_CONNECTIONS caps all of them
#: together. Sixteen addresses are needed to fill the relay; a NAT of many devices still gets 256.
MAX_RELAY_CONNECTIONS_PER_PEER: Final = 256
#: Most connections one peer address may hold open at the issuer, which devices reach directly
#: (enrolment, its directory, token batches: docs/architecture.md): without it one address
#: holding MAX_SERVER_CONNECTIONS idle connections locked every device out of the issuer for
#: HTTP_IDLE_TIMEOUT_S at a time (a red-team review). As at the relay, sixteen addresses are
#: needed to fill it and a NAT of many devices still gets 256; a wallet makes its requests to
#: the issuer one at a time on a session of its own, so a device holds one or two.
MAX_ISSUER_CONNECTIONS_PER_PEER: Final = 256
#: Connections each of the SDK client's two pools to the relay holds at most (one-shot requests
#: on the hop client; streams, tunnels and documents on aiohttp): together within the relay's
#: per-peer cap, so a busy device waits for a connection rather than being refused one.
CLIENT_RELAY_CONNECTIONS: Final = MAX_RELAY_CONNECTIONS_PER_PEER // 2
#: Most live tunnels (``GET /v1/live``, open or waiting for their first message) one peer
#: address may hold at the relay; one more is refused at the handshake (429). A device holds
#: one call's tunnel (two for a moment while it resumes on another node), so 16 leaves room for
#: several calls behind one NAT, while MAX_LIVE_TUNNELS / 16 = 64 addresses are needed to take
#: every tunnel of the relay (each tunnel holds a connection for up to ~10 minutes; 256 idle
#: ones from one address once filled the relay's only client pool and stalled all its traffic).
MAX_RELAY_LIVE_TUNNELS_PER_PEER: Final = 16
#: Largest log file a process writes with ``--log-file`` (``privcloud up --detach``:
#: <data_dir>/cloud.log) before it is rotated to ``.1``.
MAX_LOG_FILE_BYTES: Final = 1 * MiB
#: Most rotated log files kept (``.1`` ... ``.N``): the log takes at most
#: (MAX_LOG_FILE_BACKUPS + 1) * MAX_LOG_FILE_BYTES of the data directory.
MAX_LOG_FILE_BACKUPS: Final = 2
#: Most records with the same logger, level and message template written per
#: LOG_REPEAT_WINDOW_S; the others are counted and reported in one "suppressed" line.
MAX_REPEATED_LOG_RECORDS: Final = 10
#: Seconds of one window of MAX_REPEATED_LOG_RECORDS.
LOG_REPEAT_WINDOW_S: Final = 60.0
#: Longest log record written, in characters (a longer one is cut and marked).
MAX_LOG_RECORD_CHARS: Final = 2 * KiB
#: Most message templates whose repeats are counted at once (older windows are forgotten).
MAX_LOG_REPEAT_KEYS: Final = 1024

# --- Two-phase token spending and node failover (issue "Hardening") ---------------------------
# (block added with privcloud.storage.spent_tokens reservations and the SDK's retry; keep it
# together)
#: Seconds a gateway process's token reservations outlive its last heartbeat (written every
#: third of it): a gateway killed between reserve and consume frees those tokens this long after.
TOKEN_RESERVATION_TTL_S: Final = 60.0
#: Seconds a client's live calls leave out a node that proved it serves no live translation (a
#: refusal only the node could write: privcloud.sdk.live_openings), unless admission runs again
#: sooner. Nothing the gateway alone can cause leaves a node out of a later request (docs/adr/0033).
CLIENT_NO_LIVE_NODE_S: Final = 120.0
#: Tokens one request of a client may take (its first, and one for a resend after a 401 or a
#: retry after no working node was reached): answers the gateway writes burn no more, and only
#: the first may be fetched on the request path (privcloud.sdk.client, docs/adr/0033).
MAX_TOKENS_PER_REQUEST: Final = 2
#: Requests a client keeps sealed ahead (privcloud.sdk.ahead): one per feature, regions and
#: streaming flag in use, the least recently used dropped first.
CLIENT_SEALED_AHEAD: Final = 8

# --- Intel TCB collateral (privcloud.attest.intel_collateral; issue 17) ----------------------
# (block added with TDX quote v5 and Intel's TCB Info / QE Identity; keep it together)
#: Largest signed TCB Info or QE Identity document (a PCS response body) accepted; real ones are
#: 1 to 5 KiB.
MAX_INTEL_COLLATERAL_BYTES: Final = 256 * KiB
#: Most TCB levels (or QE / TDX module identity levels) one collateral document may list.
MAX_INTEL_TCB_LEVELS: Final = 256
#: Most advisory ids one TCB level may list.
MAX_INTEL_ADVISORY_IDS: Final = 128
#: Most TCB Info documents (one per FMSPC) an operator may supply at once.
MAX_INTEL_TCB_INFOS: Final = 256

# --- PostgreSQL stores (privcloud.storage.pg*; issue 13) -------------------------------------
# (block added with the PostgreSQL back ends of the stores; keep it together)
#: Seconds to wait for a PostgreSQL connection (libpq ``connect_timeout``).
PG_CONNECT_TIMEOUT_S: Final = 10
#: Longest one statement may run (server-side ``statement_timeout``), in seconds: a store that
#: waits longer answers "unavailable" (503) rather than holding the request.
PG_STATEMENT_TIMEOUT_S: Final = 30.0
#: Seconds data sent to PostgreSQL over TCP may go unacknowledged before the connection is
#: dropped (libpq ``tcp_user_timeout``): on a cut network a statement fails after this, not
#: after the kernel's retransmissions (about 15 minutes), holding its connection all along.
PG_TCP_USER_TIMEOUT_S: Final = 15
#: Seconds an idle TCP connection to PostgreSQL waits before its first keepalive probe; it is
#: taken for dead after 3 unanswered probes 10 s apart (libpq ``keepalives_*``).
PG_KEEPALIVE_IDLE_S: Final = 30
#: Seconds a log sequencer that lost its connection waits to take its lock again: the lost
#: session holds it until the server has ended that session, a moment after the loss.
PG_RELOCK_WAIT_S: Final = 5.0
#: Seconds the spent-token batcher waits for more redemptions after the first one of a batch
#: (while a round trip is in flight, the next batch gathers anyway).
SPENT_TOKEN_BATCH_WINDOW_S: Final = 0.002
#: Most redemptions in one batched round trip to PostgreSQL.
MAX_SPENT_TOKEN_BATCH: Final = 2048

# --- Tiled transparency log (C2SP tlog-tiles, privcloud.transparency.tiles; issue 13) ---------
# (block added with the tile read API and the tlog-witness conformance; keep it together)
#: A full hash tile: 256 hashes of 32 bytes (C2SP tlog-tiles); no tile body is larger.
MAX_TLOG_TILE_BYTES: Final = 256 * 32
#: Largest entry of a tiled log: an entry bundle prefixes each entry with a uint16 length, so
#: the log refuses appends above it (MAX_TLOG_ENTRY_BYTES is larger).
MAX_TLOG_TILED_ENTRY_BYTES: Final = 0xFFFF
#: Largest entry bundle: 256 entries of MAX_TLOG_TILED_ENTRY_BYTES with their 2-byte lengths.
MAX_TLOG_BUNDLE_BYTES: Final = 256 * (2 + MAX_TLOG_TILED_ENTRY_BYTES)
#: Longest tile or bundle path accepted (``tile/63/`` + 7 index groups + ``.p/255``).
MAX_TILE_PATH_CHARS: Final = 64
#: Full tiles the log service keeps in memory once read (8 KiB each: 32 MiB).
TLOG_TILE_CACHE: Final = 4096
#: Cache lifetime, in seconds, the log announces for its checkpoint and its partial tiles and
#: bundles (full ones are immutable and cached for a year).
TLOG_MUTABLE_MAX_AGE_S: Final = 5
#: Tiles and bundles a client fetches at once.
TLOG_TILE_FETCH_CONCURRENCY: Final = 8

# --- Replicated services on one machine (privcloud.localcloud.cluster; issue 13) ----------------
# (block added with the multi-process cluster launcher; keep it together)
#: Most processes of one kind (relays, gateways, issuers, nodes) the cluster launcher starts.
MAX_CLUSTER_REPLICAS: Final = 64
#: Most bytes of one process's output the launcher reads to find its ``listening on`` line and
#: banner (they are printed first).
MAX_CLUSTER_LOG_READ: Final = 1 * MiB
#: Most gateway worker processes ``privcloud gateway --workers N`` starts on one port.
MAX_GATEWAY_WORKERS: Final = 256

# --- NVIDIA GPU confidential computing evidence (privcloud.attest.nvidia; issue 17) -----------
# (block added with the GPU verifier; keep it together)
#: Most GPUs one node bundle names (an HGX board has 8).
MAX_NODE_GPUS: Final = 16
#: Largest SPDM GET_MEASUREMENTS request + response of one GPU (NVML's buffer is 8 KiB).
MAX_SPDM_REPORT_BYTES: Final = 16 * KiB
#: Most fields in the opaque data of one SPDM measurements response.
MAX_SPDM_OPAQUE_FIELDS: Final = 64
#: Largest signed RIM (SWID tag XML) we parse; NVIDIA's are about 20 KiB.
MAX_NVIDIA_RIM_BYTES: Final = 256 * KiB
#: Most RIMs an admitter is given at once (driver and VBIOS RIMs of every version in use).
MAX_NVIDIA_RIMS: Final = 64
#: Most measurement entries in one RIM.
MAX_RIM_MEASUREMENTS: Final = 256
#: Most alternative golden values for one RIM measurement entry.
MAX_RIM_ALTERNATIVES: Final = 16
#: Most XML elements in one RIM (bounds the work of walking the signed tree).
MAX_RIM_ELEMENTS: Final = 1024

# --- vTPM quotes and Google Confidential Space tokens (privcloud.attest.tpm, .gcp; issue 17) ---
# (block added with the vTPM and Confidential Space verifiers; keep it together)
#: Largest TPM event log in vTPM evidence (it travels inside MAX_ATTEST_EVIDENCE_BYTES).
MAX_TPM_EVENT_LOG_BYTES: Final = 60 * KiB
#: Most events in one TPM event log.
MAX_TPM_EVENTS: Final = 4096
#: Largest data of one logged event (Windows logs a 22 KiB EV_EVENT_TAG in PCR 13).
MAX_TPM_EVENT_DATA_BYTES: Final = 32 * KiB
#: Most PCR banks (hash algorithms) in a quote selection, a log or presented PCR values.
MAX_TPM_PCR_BANKS: Final = 4
#: Most quotes in one piece of vTPM evidence (one per bank at most).
MAX_TPM_QUOTES: Final = 4
#: Largest TPMT_PUBLIC (an RSA-8192 key's is about 1.1 KiB).
MAX_TPM_PUBLIC_BYTES: Final = 2 * KiB
#: Largest RSA modulus in a TPM key or signature (RSA-8192).
MAX_TPM_RSA_MODULUS_BYTES: Final = 1024
#: Largest TPMS_ATTEST of a quote.
MAX_TPM_ATTEST_BYTES: Final = 1 * KiB
#: Largest TPMT_SIGNATURE.
MAX_TPM_SIGNATURE_BYTES: Final = 2 * KiB
#: Largest Confidential Space attestation token (compact JWS, x5c chain in the header).
MAX_JWT_BYTES: Final = 48 * KiB
#: Most certificates in a token's x5c header.
MAX_JWT_X5C_CERTIFICATES: Final = 4
#: Deepest JSON nesting in a token's header or claims.
MAX_JWT_JSON_DEPTH: Final = 8
#: Most eat_nonce values in a token (Google allows six).
MAX_JWT_NONCES: Final = 6

# --- Android hardware key attestation at enrolment (privcloud.deviceattest; issue 18) ---
# (block added with the attested device enrolment; keep it together)
#: Most certificates in an Android key attestation chain, root included (factory chains have 4,
#: remotely provisioned ones 4-5).
MAX_ANDROID_ATTESTATION_CERTIFICATES: Final = 6
#: Largest Android attestation chain, all certificates' DER together.
MAX_ANDROID_ATTESTATION_CHAIN_BYTES: Final = 16 * KiB
#: Largest KeyDescription extension value (attestationApplicationId may list many packages).
MAX_KEY_DESCRIPTION_BYTES: Final = 8 * KiB
#: Deepest DER nesting read inside a KeyDescription.
MAX_KEY_DESCRIPTION_DEPTH: Final = 8
#: Most tagged entries in one AuthorizationList.
MAX_AUTHORIZATION_LIST_ENTRIES: Final = 64
#: Most members of one SET OF INTEGER in an AuthorizationList (purposes, digests...).
MAX_AUTHORIZATION_SET_MEMBERS: Final = 16
#: Largest attestation challenge accepted (Keystore allows 128 bytes).
MAX_ATTESTATION_CHALLENGE_BYTES: Final = 128
#: Seconds an issuer's enrolment challenge stays usable.
ENROLMENT_CHALLENGE_TTL_S: Final = 300
#: Seconds the clocks of issuer processes sharing a store may differ: a used challenge's row is
#: kept this long past its expiry (purged by a process ahead, it let a process behind take the
#: challenge again: a red-team review, 2026-12-07), and a challenge may expire up to this much
#: later than this process's clock allows for one made now.
ISSUER_CLOCK_SKEW_S: Final = 60
#: Largest attested enrolment request body (a base64url chain plus keys and proofs).
MAX_ATTESTED_ENROLMENT_BODY_BYTES: Final = 32 * KiB
#: Largest attestation status (revocation) list the operator supplies.
MAX_ATTESTATION_STATUS_LIST_BYTES: Final = 8 * MiB
#: Most entries in the attestation status (revocation) list.
MAX_ATTESTATION_STATUS_ENTRIES: Final = 200_000

# --- RSA keys of attestation evidence (privcloud.crypto.pkcs1; issue 17) ---------------------
#: Smallest RSA modulus, in bits, of a vTPM attestation key or a token signer's certificate.
MIN_ATTEST_RSA_BITS: Final = 2048
#: Largest RSA modulus, in bits, of such keys (bounds the verify cost of a hostile key).
MAX_ATTEST_RSA_BITS: Final = 8192

# --- Durable spends (services/redemption.py; issue 13 chaos test) -----------------------------

#: Seconds a gateway waits for a token's spend to be durable before it sends a node's answer
#: on; past it the answer is refused (503) rather than sent for a token that might be spent again.
#: Well under TOKEN_RESERVATION_TTL_S, so the reservation is still this process's while it waits.
TOKEN_CONSUME_WAIT_S: Final = 5.0

# --- Log readers and witness key files (issues 13 and 18) ---------------------------------------

#: Shortest interval, in seconds, at which a log reader looks for a new checkpoint.
LOG_READER_MIN_REFRESH_S: Final = 0.05
#: Longest interval, in seconds, at which a log reader looks for a new checkpoint.
LOG_READER_MAX_REFRESH_S: Final = 3600.0
#: Largest witness key file read (one line: a key type label and a base64 seed).
MAX_WITNESS_KEY_FILE_BYTES: Final = 256

# --- Speech out and guarded translation (issue 15; docs/adr/0022-speech-synthesis.md) ---------
#: Longest text (characters) one ``speak`` request (or ``synthesize`` call) speaks: about two
#: minutes of speech at the default rate.
MAX_SPEAK_CHARS: Final = 2_000
#: Longest speech, in seconds, one ``speak`` request makes; the engine's output past it is
#: refused while it is read (long digit runs are spoken digit by digit).
MAX_SPEAK_SECONDS: Final = 600
#: Seconds the speech engine (a child process) may run for one text before it is killed.
SPEAK_TIMEOUT_S: Final = 30.0
#: Most sentences of one text translation that are translated again after the fact check found
#: a number, time, date, phone number or name lost (each a second model call).
MAX_TRANSLATION_RETRIES: Final = 8

# --- Live sessions (privcloud.live; issue 16, docs/adr/0023-live-sessions.md) ------------------
#: Milliseconds between two frames of a live session, in each direction: both sides send one
#: fixed-size frame per tick, speech or silence (the frame clock is privcloud.live.protocol's).
LIVE_FRAME_INTERVAL_MS: Final = 40
#: Bytes of 16 kHz s16le mono PCM per channel in one device frame (40 ms of audio).
LIVE_PCM_BYTES_PER_FRAME: Final = 1280
#: Bytes of a live frame's plaintext, both directions (type, length, content, zero padding):
#: two channels of LIVE_PCM_BYTES_PER_FRAME and their lengths, rounded up; 64 KiB/s each way.
LIVE_FRAME_PLAINTEXT: Final = 2576
#: Longest live session, in seconds from the node's accept (Google's Private AI Compute: 10 min).
MAX_LIVE_SESSION_S: Final = 600
#: Seconds a node keeps sending after the device's last audio (or the deadline): always this
#: long, so the length of the tail does not tell how much translation was still pending.
LIVE_DRAIN_S: Final = 3.0
#: Seconds past a session's longest life after which the relay and the gateway cut its tunnel.
LIVE_TUNNEL_GRACE_S: Final = 10.0
#: Seconds a side waits for the peer's next frame before it takes the session for dead (the
#: device then resumes on another node).
LIVE_LIVENESS_TIMEOUT_S: Final = 1.5
#: Seconds from a session's first message to the node's accept, at every hop.
LIVE_OPEN_TIMEOUT_S: Final = 20.0
#: Seconds of one step of a live call's grid: the call's first opening's send time plus whole
#: steps (privcloud.live.endpoints, privcloud.sdk.live_openings). A session's first device frame
#: is due a drawn number of steps after its opening went out (or the first later step, when the
#: node's ACCEPT comes later); later openings and the device's close after the node's FINAL go
#: on the grid too. Were they to answer what the device receives (the ACCEPT, a cut, the FINAL),
#: the gateway would read the device's round-trip time (its network position, which the relay
#: hides) off their timing. A multiple of LIVE_FRAME_INTERVAL_MS.
LIVE_FIRST_FRAME_STEP_S: Final = 1.0
#: Most steps of LIVE_FIRST_FRAME_STEP_S a device draws (uniformly from 1) at each wait on its
#: call's grid: before a session's first frame (this many steps, or the first step after the
#: ACCEPT came when later), and, less one, the extra steps before a later opening and before
#: the close after the node's FINAL. A gateway holding an answer to just under a step learns
#: whether the device's round trip fits in what is left only when the draw was that step (a
#: chance of 1 / LIVE_MAX_GRID_STEPS per wait), not at every one (a red-team review,
#: 2026-12-07). The first frame is due at most this many steps after the opening: well under
#: the node's wait for a device frame (4 x LIVE_LIVENESS_TIMEOUT_S); a later opening at most
#: this many after the connect: under LIVE_RELAY_FIRST_MESSAGE_TIMEOUT_S.
LIVE_MAX_GRID_STEPS: Final = 3
#: Seconds the relay waits for a device's first message (the sealed opening, which the SDK
#: builds before it connects) before it closes the tunnel (4408); the relay opens nothing
#: towards the gateway until that message has come.
LIVE_RELAY_FIRST_MESSAGE_TIMEOUT_S: Final = 5.0
#: Most live tunnels the relay carries to its gateway, and the gateway to its nodes, at once
#: (a client pool of their own at each hop, apart from MAX_UPSTREAM_CONNECTIONS, so tunnels
#: never make requests, key or directory fetches wait); one more is refused (503). A quarter of
#: MAX_SERVER_CONNECTIONS; 128 nodes serving MAX_LIVE_SESSIONS_PER_NODE each.
MAX_LIVE_TUNNELS: Final = 1024
#: Bytes of the Binary HTTP answer to a live session's opening, padded with zeros (RFC 9292
#: §3.8) inside its OHTTP encapsulation whatever it says: the node's ACCEPT (2,599 bytes
#: encoded), a refusal (about 100), or a 401 with its challenge (about 1,600 with a 4096-bit
#: issuer key and 253-byte issuer and origin names), so the relay sees one size per suite.
#: None is larger: a refusal whose challenge would not fit goes without it (privcloud.live.tunnel).
LIVE_OPEN_ANSWER_BYTES: Final = 4 * KiB
#: Most times one call is resumed on another node after its node failed.
MAX_LIVE_RESUMES: Final = 3
#: Seconds a device tries to resume a call, from the moment it found its session failed, before
#: it gives up and ends the call (RequestTimeoutError): the resume's draws could otherwise take
#: each a connect and LIVE_OPEN_TIMEOUT_S, which a gateway holding the answers uses up, while
#: the call went on after a gap of a minute or more. It fits one honest opening that takes the
#: whole LIVE_OPEN_TIMEOUT_S (a node whose pipeline starts cold: a fresh child loading its
#: models, as after a node's death), after the wait for the call's grid (at most
#: LIVE_MAX_GRID_STEPS steps) and a connect and key fetch (5 s); it was 10 s, which ended such
#: honest calls (a red-team review, 2026-12-07). A gateway holding the answers gets this gap
#: once per resume (at most MAX_LIVE_RESUMES), not LIVE_OPEN_TIMEOUT_S per draw.
MAX_LIVE_RESUME_GAP_S: Final = (
    LIVE_OPEN_TIMEOUT_S + LIVE_MAX_GRID_STEPS * LIVE_FIRST_FRAME_STEP_S + 5.0
)
#: Seconds ahead a wallet counts its tokens when it decides to refill (privcloud.sdk.wallet): the
#: tokens of an issuer key ending sooner do not count, so that a refill runs, in the background,
#: before they all expire at once (a request never fetches tokens on its path). More than a
#: client's background admissions apart (READMIT_AFTER_S), which each look.
WALLET_REFILL_AHEAD_S: Final = 900.0
#: Seconds before its admission's logged validity ends by which a client has admitted again, in
#: the background, at a random time (privcloud.sdk.client_admission): a request or a live call's
#: resume after that end would otherwise admit again on its path, a fetch the gateway ties to it.
READMIT_MARGIN_S: Final = 60.0
#: Fewest seconds between two background admissions of one client: an admission whose
#: validity ends within READMIT_MARGIN_S (a gateway's directory logged late) must not make
#: every device admit again in a tight loop at the same time (a fourth review).
READMIT_FLOOR_S: Final = 10.0
#: Most node draws one call makes, openings refused and resumes together: the most a call drew
#: when a refusing node was left out (MAX_LIVE_RESUMES + 1 openings, then MAX_LIVE_RESUMES
#: resumes). Each refusal the gateway writes buys it one more uniform draw
#: (privcloud.sdk.live_openings).
MAX_LIVE_DRAWS: Final = 2 * MAX_LIVE_RESUMES + 1
#: Most tokens one live call takes from its wallet, openings, resends after a 401, draws again
#: and resumes together: the first opening, MAX_LIVE_RESUMES resumes and one more (a 401 or a
#: refused draw). A call's openings are one device's by construction, so without this bound a
#: gateway answering each draw's opening with a 401 and its resend with a 503 took
#: 2 x MAX_LIVE_DRAWS = 14 tokens of one known caller in seconds (a red-team review,
#: 2026-12-07); a request takes at most MAX_TOKENS_PER_REQUEST.
MAX_LIVE_CALL_TOKENS: Final = MAX_LIVE_RESUMES + 2
#: Largest session-open message (the OHTTP-encapsulated hello with its token).
MAX_LIVE_OPEN_BYTES: Final = 8 * KiB
#: Seconds of input audio a node queues for its pipeline (per session); older audio is dropped.
MAX_LIVE_BACKLOG_S: Final = 10.0
#: Seconds of audio a device buffers while it opens or resumes a session; older audio is dropped.
MAX_LIVE_DEVICE_BACKLOG_S: Final = 2.0
#: Bytes of events (text and audio) a device's LiveCall holds for an app that has not read them
#: yet (about 4 minutes of speech); beyond it the oldest are dropped (LiveCall.dropped_events),
#: so an app that stops reading cannot grow the device's memory for the rest of the call.
MAX_LIVE_DEVICE_EVENT_BYTES: Final = 8 * MiB
#: Largest node output backlog (bytes) waiting for frames; outputs beyond it are dropped.
MAX_LIVE_OUTBOUND_BYTES: Final = 4 * MiB
#: Most frames a sender that fell behind its clock sends at once (the others are skipped).
MAX_LIVE_BURST_FRAMES: Final = 3
#: Frames one side of a live tunnel may send ahead of the cadence (privcloud.live.protocol's
#: RateBound): what a path that held a side's frames for the liveness timeout releases at once,
#: and a sender's own catch-up. A hop ends the tunnel at the first frame over it, so a gateway
#: cannot send the device frames faster than the cadence and time the relay's path draining.
LIVE_TUNNEL_BURST_FRAMES: Final = (
    int(LIVE_LIVENESS_TIMEOUT_S * 1000) // LIVE_FRAME_INTERVAL_MS + MAX_LIVE_BURST_FRAMES
)
#: Frames a tunnel hop holds for a side that does not take them: past it the hop ends the
#: tunnel. Each hop reads each side on its own, so a side that stops reading holds the other
#: side's frames here, not in TCP's window, whose reopening would show the gateway the round
#: trip between the relay and the device (a review). As many as a side may send at once (a
#: burst is read before the writer runs).
LIVE_TUNNEL_QUEUE_FRAMES: Final = LIVE_TUNNEL_BURST_FRAMES
#: Frames a node takes from a device ahead of the device's frame clock (its schedule starts
#: after the node's, frames bunch after a network stall but never run ahead of it): a second
#: of them. A device that sends more is cut off, so one session cannot feed the node's shared
#: pipelines faster than real time.
LIVE_RECEIVE_AHEAD_FRAMES: Final = 25
#: Most live sessions one node serves at once.
MAX_LIVE_SESSIONS_PER_NODE: Final = 8
#: Largest text of one live output record (a caption or translation), in bytes.
MAX_LIVE_TEXT_BYTES: Final = 4 * KiB
#: Largest audio of one live output record (30 s of 16 kHz s16le).
MAX_LIVE_AUDIO_BYTES: Final = 30 * 32000
#: Speech goes to the device in records of at most this much audio (0.25 s of 16 kHz s16le),
#: so that it can start playing after the first record has crossed the constant-rate frames
#: rather than after the whole utterance has (0.5 s a second).
LIVE_AUDIO_RECORD_BYTES: Final = 8000
#: The first record of each piece of speech is shorter (0.125 s: two frames instead of four),
#: so playing starts 80 ms sooner; each later record is at most as long as all before it, which
#: keeps the frames, twice as fast as speech plays, ahead of the playing (protocol.py).
LIVE_AUDIO_FIRST_RECORD_BYTES: Final = 4000

# --- Object erase (privcloud.workloads.erase; issue 15) --------------------------------------
#: Largest image file (PNG or JPEG) an erase request carries; with the mask it fits one
#: workload request (MAX_WORKLOAD_INPUT).
MAX_ERASE_IMAGE_BYTES: Final = 24 * MiB
#: Largest mask file (PNG): a two-tone 12-megapixel mask compresses to far less.
MAX_ERASE_MASK_BYTES: Final = 4 * MiB
#: Most pixels of an image to erase from, read from its header before any pixel is decoded
#: (decompression bombs): a 12-megapixel phone photo (4032 x 3024) fits; its decoded RGB is
#: 38 MB, and its lossless answer stays under MAX_ERASE_RESULT_BYTES for ordinary photos.
MAX_ERASE_PIXELS: Final = 4096 * 3072
#: Longest side of an image to erase from (a 1 x 12,000,000 strip is not a photo).
MAX_ERASE_SIDE: Final = 8192
#: Largest OpenCV inpainting radius (pixels around each filled one that it is computed from).
MAX_ERASE_RADIUS: Final = 32
#: Most OpenCV fill work one request may ask for: masked pixels times the radius squared (the
#: cost of cv2.inpaint grows with both; measured 2.2 s of CPU for 1 M pixels at radius 5, 32 s
#: at radius 20). 50 M: 2 M pixels (a sixth of a 12-megapixel frame) at the default radius 5,
#: 49 K pixels at radius 32. A larger object is a job for the diffusion method, whose cost does
#: not grow with the mask.
MAX_ERASE_FILL_WORK: Final = 50_000_000
#: Largest encoded answer (the erased image): one response event with room for its metadata.
MAX_ERASE_RESULT_BYTES: Final = MAX_WORKLOAD_EVENT - MAX_WORKLOAD_JSON - 64 * KiB
#: Most scans (SOS markers) in a JPEG to erase from, counted before it is decoded. libjpeg
#: passes over the whole image once per scan of a progressive JPEG, and a scan can be a few
#: bytes: a 124 KB 12-megapixel file with 2,000 scans took 14.6 s of CPU (7 ms a scan), and
#: 24 MiB of them would hold a worker thread for hours, deaf to the deadline (libjpeg-turbo's
#: ``djpeg -maxscans`` guards against the same). Encoders write 1 to 3 (baseline) or about 10
#: (progressive) scans; 100 leaves room and bounds the decode of a 12-megapixel photo to a few
#: seconds of CPU, like the fill's bound (measured: 2.3 s for a noisy one with 100 scans, 0.1 s
#: with its 10). Counting them reads 24 MiB in 0.1 s.
MAX_ERASE_JPEG_SCANS: Final = 100
#: Most erase requests one node works on at once; one more is refused at once (429) rather than
#: queued. One maximum-size erase holds about 280 MB (the decoded image, the mask, the fill and
#: the answer) and a CPU core for seconds; without this a burst of them is bounded only by the
#: node's worker threads. Refused, not waited for: a request waiting for an erase slot would
#: hold one of the node's MAX_NODE_WORKLOAD_THREADS threads meanwhile, and a burst of erases
#: would keep the other features from theirs; a 429 costs nothing and the client may try again
#: or another node.
MAX_CONCURRENT_ERASE: Final = 2
#: Most 16 kHz s16le PCM bytes one live-pipeline feed takes (1 s; frames are 20-40 ms).
LIVE_MAX_FEED_BYTES: Final = 32_000
#: Seconds a live pipeline's process may take over one step (open, a feed, the flush) before
#: it is killed and its calls fail (privcloud.live.process; the first open loads the models).
LIVE_PIPELINE_STEP_TIMEOUT_S: Final = 300.0
#: Seconds a live decode waits for the live pipelines' shared Whisper model (other calls'
#: decodes hold it); past it that call fails alone (RequestTimeoutError) instead of its step
#: outlasting LIVE_PIPELINE_STEP_TIMEOUT_S, which kills the process with every call it holds.
LIVE_MODEL_WAIT_S: Final = LIVE_PIPELINE_STEP_TIMEOUT_S / 2
#: Largest answer the node reads from its live pipelines' process (one step's outputs); a
#: larger one drops the process. One step yields at most a few outputs of MAX_LIVE_AUDIO_BYTES.
#: The outputs it holds, decoded, may not be larger either (a pickle can name one value many
#: times), nor more than MAX_LIVE_PIPELINE_OUTPUTS: the node builds and seals each on its event
#: loop, and a reply of millions of outputs stalled every session's frames for seconds.
MAX_LIVE_PIPELINE_REPLY_BYTES: Final = 4 * MiB
#: Most outputs in one answer of the live pipelines' process (a step yields a few: captions,
#: translations and speech of the pieces it committed); more drop the process.
MAX_LIVE_PIPELINE_OUTPUTS: Final = 64
#: Most seconds of audio a live channel holds for Whisper to re-decode: endless speech is
#: committed and cut at this length, so one decode stays bounded (Whisper's window is 30 s).
LIVE_MAX_BUFFER_SECONDS: Final = 15.0

# --- Chat and inference engines (privcloud.workloads.chat, .engine; issue 15) -----------------
# (block added with the chat feature; keep it together)
#: Most messages one chat request may carry (system, user and assistant together).
MAX_CHAT_MESSAGES: Final = 64
#: Longest chat message, in characters.
MAX_CHAT_MESSAGE_CHARS: Final = 16_000
#: Most characters of all messages of one chat request together.
MAX_CHAT_TOTAL_CHARS: Final = 32_000
#: Most tokens one chat answer may have (``max_tokens``).
MAX_CHAT_TOKENS: Final = 1024
#: Most stop strings of one chat request.
MAX_CHAT_STOPS: Final = 4
#: Longest stop string of a chat request, in characters.
MAX_CHAT_STOP_CHARS: Final = 32
#: A chat request's max_tokens when it names none.
DEFAULT_MAX_CHAT_TOKENS: Final = 256
#: Highest sampling temperature a chat request may ask for.
MAX_CHAT_TEMPERATURE: Final = 2.0
#: Seconds the node waits to connect to an OpenAI-compatible inference engine in its TEE.
ENGINE_CONNECT_TIMEOUT_S: Final = 5.0
#: Seconds the node waits for the engine's next bytes (a whole answer is bounded by the
#: request's deadline, checked after every event).
ENGINE_READ_TIMEOUT_S: Final = 60.0
#: Longest server-sent event line (one chunk of a streamed answer) read from an engine.
MAX_ENGINE_EVENT_BYTES: Final = 64 * KiB
#: Most bytes of one streamed answer read from an engine.
MAX_ENGINE_RESPONSE_BYTES: Final = 8 * MiB
#: Most characters of answer text the node takes from an OpenAI-compatible engine per token
#: the request allows (``max_tokens``): the text past ``max_tokens`` times this is cut and the
#: answer ends as "length". The longest token of the models served here is 32 characters; the
#: bound keeps any answer sealable: MAX_CHAT_TOKENS x 40 characters x 6 JSON bytes at worst
#: (a control character's escape) fits MAX_WORKLOAD_JSON with room for the rest of a RESULT.
MAX_CHAT_CHARS_PER_TOKEN: Final = 40

# --- Device console: the Live tab (privcloud.device.live; issue 16) ---------------------------
#: Largest binary message (16 kHz s16le mono PCM) the console page sends the agent: 0.5 s.
CONSOLE_LIVE_MAX_AUDIO_MESSAGE: Final = 16_000
#: Largest text (control) message from the page: a start with two language tags, or a stop.
CONSOLE_LIVE_MAX_CONTROL_BYTES: Final = 1 * KiB
#: Seconds of audio the page may send ahead of real time, counted from the call's start;
#: a page that sends faster is refused (the microphone cannot).
CONSOLE_LIVE_AUDIO_BURST_S: Final = 2.0
#: Most messages per second from the page (twice as many may come in a burst).
CONSOLE_LIVE_MAX_MESSAGES_PER_S: Final = 50
#: Seconds the agent waits for the page's start message, and for its next audio in a call.
CONSOLE_LIVE_IDLE_S: Final = 10.0
#: Live calls the device agent runs at once (one microphone, one page).
MAX_CONSOLE_LIVE_CALLS: Final = 1
#: Console live sockets open at once (a call, and pages that have not started one: each closes
#: after CONSOLE_LIVE_IDLE_S without a start); more are refused at the handshake (429).
MAX_CONSOLE_LIVE_SOCKETS: Final = 4 * MAX_CONSOLE_LIVE_CALLS


# --- model runtime and speech out (issue 15) --------------------------------------------------

#: Most llama.cpp threads PRIVCLOUD_LLM_THREADS may ask for.
MAX_LLM_THREADS: Final = 64
#: Most threads the first-load measurement tries (1, 2, 4, ... up to this, or the CPUs).
MAX_MEASURED_LLM_THREADS: Final = 16
#: Slowest speaking rate a speak request may ask for (words per minute).
MIN_SPEAK_RATE: Final = 80
#: Fastest speaking rate a speak request may ask for (words per minute).
MAX_SPEAK_RATE: Final = 300
#: Most bytes read from espeak-ng for one text: MAX_SPEAK_SECONDS of its 22,050 Hz 16-bit mono
#: output, plus its header (a text of long digit runs is read digit by digit, so even a bounded
#: text could otherwise make many minutes of sound).
MAX_SPEAK_ENGINE_BYTES: Final = MAX_SPEAK_SECONDS * 22_050 * 2 + 4096
#: Largest ``espeak-ng --voices`` listing read (it is ~10 KB).
MAX_ESPEAK_VOICE_LIST_BYTES: Final = 1 << 20
#: Most ``speak`` requests one node works on at once (each runs an espeak-ng child process, a
#: CPU core for up to SPEAK_TIMEOUT_S, and holds up to MAX_SPEAK_ENGINE_BYTES of its output);
#: one more is refused at once (429), not queued, for the reason given at MAX_CONCURRENT_ERASE.
#: The live pipeline's speech is not counted here: live sessions have their own bound
#: (MAX_LIVE_SESSIONS_PER_NODE).
MAX_CONCURRENT_SPEAK: Final = 4
#: Most names (or direction-marked mentions) of one summary sentence whose relations the guard
#: checks: each is looked up in every source sentence, so this bounds the work per sentence.
MAX_GUARD_RELATED: Final = 8
