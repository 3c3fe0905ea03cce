"""The token issuer (services/issuer.py, storage/issuer_store.py, privacypass/issuance.py): device
enrolment, signed batch issuance, quota, replay, key rotation, and the HTTP shell.

Each test is named after what it stops. Vector tests of the Privacy Pass core live in
test_privacypass_vectors.py; nothing here repeats them.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import sqlite3
import time
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from privcloud import errors, limits
from privcloud.clock import FixedClock
from privcloud.crypto import blindrsa
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.privacypass import (
    TOKEN_TYPE_BLIND_RSA,
    IssuerKey,
    TokenChallenge,
    client_begin,
    client_finalize,
    issuer_key_map,
    verify_token,
)
from privcloud.privacypass.directory import MEDIA_TYPE, WELL_KNOWN_PATH
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    ENROL_PATH,
    MEDIA_BATCH_REQUEST,
    DeviceAuth,
    decode_batch_request,
    decode_batch_response,
    device_id_for,
    encode_batch_request,
    encode_batch_response,
    encode_enrolment,
    parse_issuer_directory,
    sign_device_request,
)
from privcloud.privacypass.tokens import TokenRequest
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig, IssuerCore
from privcloud.services.site import start_site
from privcloud.storage.database import Database
from privcloud.storage.issuer_store import IssuerStore
from privcloud.storage.pg_issuer import PgIssuerStore
from privcloud.trust.keys import issuer_step

T0 = 1_800_000_000.0
DAY = 24 * 3600
CHALLENGE = TokenChallenge(TOKEN_TYPE_BLIND_RSA, b"issuer.test", b"", b"privcloud.gateway").encode()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def core(store_url: str, clock: FixedClock) -> Iterator[IssuerCore]:
    store = Database.from_url(store_url).issuer()  # SQLite, then PostgreSQL
    yield IssuerCore(
        store, IssuerConfig(insecure_operator_codes=True, quota=10, period_s=DAY), clock=clock
    )
    store.close()


def _enrolled(core: IssuerCore) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    core.enrol(encode_enrolment(key, core.new_enrolment_code()))
    return key


def _current_key(core: IssuerCore) -> IssuerKey:
    _, keys = parse_issuer_directory(core.directory())
    return next(k.key for k in keys if k.valid_at(core.clock.now()))


def _batch(core: IssuerCore, n: int) -> tuple[bytes, list[object]]:
    key = _current_key(core)
    begun = [client_begin(CHALLENGE, key) for _ in range(n)]
    return encode_batch_request([r for r, _ in begun]), [s for _, s in begun]


def _signed(
    key: Ed25519PrivateKey,
    body: bytes,
    now: float,
    *,
    path: str = BATCH_PATH,
    batch_id: bytes | None = None,
) -> dict[str, str]:
    return sign_device_request(key, "POST", path, body, now=now, batch_id=batch_id).headers()


def _rows(core: IssuerCore, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` read straight from the issuer's tables (SQLite file or PostgreSQL
    schema), past the store's own methods."""
    store = core.store
    if isinstance(store, PgIssuerStore):
        return [tuple(r) for r in store._pg.execute(sql).fetchall()]
    with sqlite3.connect(store.path) as db:
        return [tuple(r) for r in db.execute(sql)]


def _columns(core: IssuerCore, table: str) -> list[str]:
    if isinstance(core.store, PgIssuerStore):
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            f" current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        )
        return [str(r[0]) for r in _rows(core, sql)]
    return [str(r[1]) for r in _rows(core, f"PRAGMA table_info({table})")]


def _used(core: IssuerCore) -> int:
    """Tokens charged to every device, all periods together."""
    return int(_rows(core, "SELECT COALESCE(SUM(used), 0) FROM quota")[0][0])


def _batches(core: IssuerCore) -> list[tuple[bytes, bytes, bytes, int]]:
    rows = _rows(core, "SELECT device_id, batch_id, body_hash, period FROM issuance_batches")
    return [(bytes(d), bytes(b), bytes(h), int(p)) for d, b, h, p in rows]


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_code_is_one_time(core: IssuerCore) -> None:
    code = core.new_enrolment_code()
    core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), code))
    with pytest.raises(errors.AuthenticationError):
        core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), code))


def test_enrolment_code_never_reads_as_a_command_line_option(
    core: IssuerCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bytes URL-safe base64 wrote as "-----...": such a code, given as ``--code CODE``,
    # was read by argparse as an option (the CLI test failed one run in 64).
    import privcloud.services.issuer_core as issuer_module

    fixed = types.SimpleNamespace(token_bytes=lambda n: (b"\xfb\xef\xbe" * n)[:n])
    monkeypatch.setattr(issuer_module, "secrets", fixed)  # this module's draws only
    code = core.new_enrolment_code()
    assert len(code) == 32 and set(code) <= set("abcdefghijklmnopqrstuvwxyz234567")
    core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), code))
    assert len(code.encode()) <= limits.MAX_ENROLMENT_CODE_CHARS


def test_unknown_or_expired_enrolment_code_is_refused(core: IssuerCore, clock: FixedClock) -> None:
    with pytest.raises(errors.AuthenticationError):
        core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), "made-up-code"))
    code = core.new_enrolment_code()
    clock.advance(core.config.enrolment_code_ttl_s + 1)
    with pytest.raises(errors.AuthenticationError):
        core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), code))


def test_device_key_is_registered_once(core: IssuerCore) -> None:
    key = _enrolled(core)
    second = core.new_enrolment_code()
    with pytest.raises(errors.ReplayError):
        core.enrol(encode_enrolment(key, second))
    # The refused attempt did not use the code up.
    core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), second))


def test_enrolment_without_possession_of_the_key_is_refused(core: IssuerCore) -> None:
    victim = Ed25519PrivateKey.generate().public_bytes()
    forged = json.loads(encode_enrolment(Ed25519PrivateKey.generate(), "x"))
    forged["code"] = core.new_enrolment_code()
    forged["device-key"] = base64.urlsafe_b64encode(victim).decode()
    with pytest.raises(errors.AuthenticationError):
        core.enrol(json.dumps(forged).encode())


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"{}",
        b"not json",
        b'{"code": 1, "device-key": "", "proof": ""}',
        b"x" * (limits.MAX_ENROLMENT_BODY_BYTES + 1),
    ],
)
def test_malformed_enrolment_is_a_peer_error(core: IssuerCore, body: bytes) -> None:
    with pytest.raises(errors.PeerError):
        core.enrol(body)


# --- issuance --------------------------------------------------------------------------------


def test_batch_issuance_gives_n_tokens_that_verify(core: IssuerCore, clock: FixedClock) -> None:
    key = _enrolled(core)
    body, states = _batch(core, 5)
    answer, count = core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    assert count == 5
    keys = issuer_key_map([_current_key(core)])
    digest = hashlib.sha256(CHALLENGE).digest()
    for state, response in zip(states, decode_batch_response(answer, expected=5), strict=True):
        verify_token(client_finalize(state, response), keys, challenge_digest=digest)  # type: ignore[arg-type]


def test_unsigned_request_is_refused_401(core: IssuerCore) -> None:
    body, _ = _batch(core, 1)
    with pytest.raises(errors.AuthenticationError) as info:
        core.issue("POST", BATCH_PATH, {}, body)
    assert info.value.http_status == 401


def test_unknown_device_is_refused_401(core: IssuerCore, clock: FixedClock) -> None:
    stranger = Ed25519PrivateKey.generate()
    body, _ = _batch(core, 1)
    with pytest.raises(errors.AuthenticationError, match="unknown device"):
        core.issue("POST", BATCH_PATH, _signed(stranger, body, clock.now()), body)


def test_signature_by_another_key_is_refused(core: IssuerCore, clock: FixedClock) -> None:
    key = _enrolled(core)
    body, _ = _batch(core, 1)
    headers = _signed(Ed25519PrivateKey.generate(), body, clock.now())
    headers["privcloud-device"] = _signed(key, body, clock.now())["privcloud-device"]
    with pytest.raises(errors.AuthenticationError, match="does not verify"):
        core.issue("POST", BATCH_PATH, headers, body)


@pytest.mark.parametrize("what", ["body", "path", "method", "nonce", "timestamp"])
def test_signature_covers_every_part_of_the_request(
    core: IssuerCore, clock: FixedClock, what: str
) -> None:
    key = _enrolled(core)
    body, _ = _batch(core, 1)
    headers = _signed(key, body, clock.now())
    method, path = "POST", BATCH_PATH
    if what == "body":
        other, _ = _batch(core, 1)
        body = other
    elif what == "path":
        path = "/v1/token-batch/"
    elif what == "method":
        method = "PUT"
    elif what == "nonce":
        headers["privcloud-nonce"] = "AAAAAAAAAAAAAAAAAAAAAA=="
    else:
        headers["privcloud-timestamp"] = str(int(clock.now()) + 1)
    with pytest.raises(errors.AuthenticationError):
        core.issue(method, path, headers, body)


def test_stale_request_is_refused(core: IssuerCore, clock: FixedClock) -> None:
    key = _enrolled(core)
    body, _ = _batch(core, 1)
    headers = _signed(key, body, clock.now() - limits.ISSUANCE_REQUEST_WINDOW_S - 1)
    with pytest.raises(errors.AuthenticationError, match="window"):
        core.issue("POST", BATCH_PATH, headers, body)


def test_replayed_issuance_request_is_refused(core: IssuerCore, clock: FixedClock) -> None:
    key = _enrolled(core)
    body, _ = _batch(core, 2)
    headers = _signed(key, body, clock.now())
    core.issue("POST", BATCH_PATH, headers, body)
    clock.advance(5)
    with pytest.raises(errors.ReplayError):
        core.issue("POST", BATCH_PATH, headers, body)
    # Nothing was charged for the replay: 2 of 10 used.
    body, _ = _batch(core, 8)
    core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)


def test_issuer_records_no_precise_issuance_time(core: IssuerCore, clock: FixedClock) -> None:
    """A request nonce is stored with a coarse expiry (the window's end rounded up to a
    bucket), so two requests minutes apart leave the same value behind; replays are still
    refused until the timestamp window has closed, purges or not."""
    key = _enrolled(core)
    bucket = limits.ISSUANCE_NONCE_EXPIRY_BUCKET_S
    assert bucket >= 600 and T0 % bucket == 0
    clock.advance(7)
    first, _ = _batch(core, 1)
    core.issue("POST", BATCH_PATH, _signed(key, first, clock.now()), first)
    clock.advance(293)  # T0 + 300: same bucket
    body, _ = _batch(core, 1)
    headers = _signed(key, body, clock.now())
    core.issue("POST", BATCH_PATH, headers, body)
    stored = [r[0] for r in _rows(core, "SELECT expires FROM request_nonces")]
    assert stored == [int(T0) + bucket] * 2  # one value, saying nothing finer than the bucket
    # Replay protection is intact: refused as a replay while the window is open, purge or not
    window = int(limits.ISSUANCE_REQUEST_WINDOW_S)
    for step in (1, window // 2, window - 1):
        clock.at = T0 + 300 + step
        core.purge()
        with pytest.raises(errors.ReplayError):
            core.issue("POST", BATCH_PATH, headers, body)
    # ... and as stale once it has closed (the nonce may then be forgotten).
    clock.at = T0 + 300 + window + 1
    with pytest.raises(errors.AuthenticationError, match="window"):
        core.issue("POST", BATCH_PATH, headers, body)
    clock.advance(bucket)
    core.purge()
    assert _rows(core, "SELECT COUNT(*) FROM request_nonces")[0][0] == 0


def test_quota_exceeded_is_429_and_charges_nothing(core: IssuerCore, clock: FixedClock) -> None:
    key = _enrolled(core)
    body, _ = _batch(core, 7)
    core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    body, _ = _batch(core, 4)
    with pytest.raises(errors.RateLimitedError) as info:
        core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    assert info.value.http_status == 429
    body, _ = _batch(core, 3)  # exactly what is left
    core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    body, _ = _batch(core, 1)
    with pytest.raises(errors.RateLimitedError):
        core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    # Another device has its own quota; the next period starts afresh.
    other = _enrolled(core)
    core.issue("POST", BATCH_PATH, _signed(other, body, clock.now()), body)
    clock.advance(DAY)
    body, _ = _batch(core, 10)
    core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)


def test_request_naming_an_unknown_key_is_refused_before_charging(
    core: IssuerCore, clock: FixedClock
) -> None:
    key = _enrolled(core)
    current = _current_key(core)
    bad = TokenRequest(TOKEN_TYPE_BLIND_RSA, current.truncated_key_id ^ 0xFF, bytes(256)).encode()
    body = encode_batch_request([bad])
    with pytest.raises(errors.UnknownKeyError):
        core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    body, _ = _batch(core, 10)  # the whole quota is still there
    core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)


def test_batch_bounds() -> None:
    issuer_key = IssuerKey.from_public_key(blindrsa.generate_private_key().public_key())
    one = client_begin(CHALLENGE, issuer_key)[0]
    with pytest.raises(errors.UsageError):
        encode_batch_request([])
    with pytest.raises(errors.UsageError):
        encode_batch_request([one] * (limits.MAX_TOKEN_BATCH + 1))
    assert decode_batch_request(encode_batch_request([one] * 3)) == [one] * 3
    with pytest.raises(errors.DecodeError):
        decode_batch_request(b"\x00")  # empty batch
    with pytest.raises(errors.DecodeError):
        decode_batch_request(encode_batch_request([one]) + b"\x00")  # trailing byte
    with pytest.raises(errors.DecodeError):
        decode_batch_request(encode_batch_request([one])[:-1])
    with pytest.raises(errors.UnsupportedError):
        decode_batch_request(b"\x41\x03" + b"\x00\x01" + one[2:])  # token type 1
    too_many = b"".join([one] * (limits.MAX_TOKEN_BATCH + 1))
    with pytest.raises(errors.TooLargeError):
        decode_batch_request(b"\x80" + len(too_many).to_bytes(3, "big") + too_many)
    with pytest.raises(errors.DecodeError):
        decode_batch_response(encode_batch_response([b"x" * 256] * 2), expected=3)


def test_device_auth_headers_refuse_malformed_fields() -> None:
    good = sign_device_request(Ed25519PrivateKey.generate(), "POST", "/", b"", now=T0).headers()
    assert DeviceAuth.from_headers(good).timestamp == int(T0)
    for name, value in [
        ("privcloud-timestamp", "-1"),
        ("privcloud-timestamp", "1e9"),
        ("privcloud-timestamp", "9" * 13),
        ("privcloud-nonce", "AAAA"),
        ("privcloud-device", "!!"),
        ("privcloud-signature", "not base64"),
    ]:
        with pytest.raises(errors.AuthenticationError):
            DeviceAuth.from_headers({**good, name: value})


# --- key rotation ----------------------------------------------------------------------------


def test_keys_rotate_on_the_one_schedule_with_overlapping_validity(tmp_path: Path) -> None:
    step, lifetime = limits.ISSUER_KEY_STEP_S, limits.ISSUER_KEY_LIFETIME_S
    start = issuer_step(T0)
    clock = FixedClock(start + DAY / 2)  # half a day into a step of the schedule
    store = IssuerStore(tmp_path / "i.sqlite3")
    core = IssuerCore(store, IssuerConfig(insecure_operator_codes=True), clock=clock)
    _, keys = parse_issuer_directory(core.directory())
    assert len(keys) == 1
    first = keys[0]
    assert (first.not_before, first.expires) == (start, start + lifetime)  # from the step
    # Five days into the step: the successor is published (not yet valid), the next step's.
    clock.advance(4.5 * DAY)
    core.rotate()
    _, keys = parse_issuer_directory(core.directory())
    assert [k.not_before for k in keys] == [start + step, start]
    assert [k.valid_at(clock.now()) for k in keys] == [False, True]
    second = keys[0]
    assert second.key.truncated_key_id != first.key.truncated_key_id
    # Rotating again changes nothing (several processes may call it).
    core.rotate()
    assert len(parse_issuer_directory(core.directory())[1]) == 2
    # The next step's first day: both valid (the overlap).
    clock.advance(1.5 * DAY)
    core.rotate()
    _, keys = parse_issuer_directory(core.directory())
    assert [k.valid_at(clock.now()) for k in keys] == [True, True]
    # A day later the first key expired and is gone, private part included.
    clock.advance(DAY)
    core.rotate()
    _, keys = parse_issuer_directory(core.directory())
    assert [k.key.key_id for k in keys] == [second.key.key_id]
    with sqlite3.connect(tmp_path / "i.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM issuer_keys").fetchone() == (1,)
    store.close()


def test_a_key_off_the_schedule_from_before_it_is_dropped(tmp_path: Path) -> None:
    # A store written before the schedule (a key from the moment the issuer started): devices
    # refuse such a key (docs/adr/0009, decision 8), so the issuer drops it and makes the
    # current step's key.
    clock = FixedClock(T0)
    store = IssuerStore(tmp_path / "i.sqlite3")
    core = IssuerCore(store, IssuerConfig(insecure_operator_codes=True), clock=clock)
    (kept,) = store.keys()
    store.delete_keys([kept.key_id])
    store.add_key_if_newest(
        dataclasses.replace(kept, not_before=int(T0), expires=int(T0) + 7 * DAY), None
    )
    core.rotate()
    (key,) = parse_issuer_directory(core.directory())[1]
    assert (key.not_before, key.expires) == (
        issuer_step(T0),
        issuer_step(T0) + limits.ISSUER_KEY_LIFETIME_S,
    )
    store.close()


def test_issuance_with_an_expired_key_is_refused(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    store = IssuerStore(tmp_path / "i.sqlite3")
    core = IssuerCore(store, IssuerConfig(insecure_operator_codes=True), clock=clock)
    key = _enrolled(core)
    body, _ = _batch(core, 1)  # names the first key
    clock.advance(limits.ISSUER_KEY_LIFETIME_S)  # no rotate(): the key is cached, but expired
    with pytest.raises(errors.UnknownKeyError):
        core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    store.close()


def test_issuer_database_is_owner_only(tmp_path: Path) -> None:
    store = IssuerStore(tmp_path / "issuer.sqlite3")  # the SQLite file (PostgreSQL: no file)
    mode = os.stat(store.path).st_mode & 0o777
    store.close()
    assert mode == 0o600


# --- the HTTP shell --------------------------------------------------------------------------


@pytest.fixture
async def issuer_url(tmp_path: Path) -> AsyncIterator[tuple[str, Issuer]]:
    issuer = Issuer(tmp_path, IssuerConfig(insecure_operator_codes=True, quota=3))
    runner, port = await start_site(issuer.app(), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", issuer
    await runner.cleanup()
    issuer.core.store.close()


async def test_http_statuses_and_the_issuer_keeps_serving(
    issuer_url: tuple[str, Issuer],
) -> None:
    url, issuer = issuer_url
    device = Ed25519PrivateKey.generate()
    async with aiohttp.ClientSession() as s:
        async with s.get(url + WELL_KNOWN_PATH) as r:
            assert r.status == 200 and r.content_type == MEDIA_TYPE
            assert "max-age" in r.headers["Cache-Control"]
            _, keys = parse_issuer_directory(await r.read())
        # The key of this step (on a step's last day the directory lists the next one too).
        challenge_key = next(k.key for k in keys if k.not_before == issuer_step(time.time()))

        async def post(path: str, body: bytes, media: str, headers: dict[str, str]) -> int:
            all_headers = {"Content-Type": media, **headers}
            async with s.post(url + path, data=body, headers=all_headers) as r:
                doc = await r.read()
                if r.status != 200 and r.status != 201:
                    assert set(json.loads(doc)) == {"error", "message"}
                return r.status

        begun = [client_begin(CHALLENGE, challenge_key) for _ in range(2)]
        body = encode_batch_request([b for b, _ in begun])
        signed = _signed(device, body, time.time())
        # Not enrolled: 401.
        assert await post(BATCH_PATH, body, MEDIA_BATCH_REQUEST, signed) == 401
        # Enrol (wrong media type first: 415), then issue: 200, replay: 400, quota: 429.
        enrolment = encode_enrolment(device, issuer.core.new_enrolment_code())
        assert await post(ENROL_PATH, enrolment, "text/plain", {}) == 415
        assert await post(ENROL_PATH, enrolment, "application/json", {}) == 201
        assert await post(BATCH_PATH, body, MEDIA_BATCH_REQUEST, signed) == 200
        assert await post(BATCH_PATH, body, MEDIA_BATCH_REQUEST, signed) == 400
        again = _signed(device, body, time.time())
        assert await post(BATCH_PATH, body, MEDIA_BATCH_REQUEST, again) == 429
        # Garbage: 400/413/415, never a 500.
        assert await post(BATCH_PATH, b"\x01", MEDIA_BATCH_REQUEST, {}) == 401
        junk = b"\x00" * (limits.MAX_TOKEN_BATCH_REQUEST_BYTES + 1)
        assert await post(BATCH_PATH, junk, MEDIA_BATCH_REQUEST, {}) == 413
        assert await post(ENROL_PATH, b"{", "application/json", {}) == 400
        # A single RFC 9578 request (application/private-token-request) works too.
        other = Ed25519PrivateKey.generate()
        enrolment = encode_enrolment(other, issuer.core.new_enrolment_code())
        assert await post(ENROL_PATH, enrolment, "application/json", {}) == 201
        single = begun[0][0]
        signed = _signed(other, single, time.time())
        assert await post(BATCH_PATH, single, "application/private-token-request", signed) == 200
        async with s.get(url + "/healthz") as r:
            assert r.status == 200
    assert issuer.metrics.counters["tokens_issued"] == 3
    assert device_id_for(device.public_bytes()) != device_id_for(other.public_bytes())


# --- idempotent batches (docs/adr/0011-idempotent-issuance.md) -------------------------------


def test_retried_batch_is_answered_again_without_a_second_charge(
    core: IssuerCore, clock: FixedClock
) -> None:
    """Charged, answer lost (a crash, a time-out): the retry of the same batch id and body —
    signed anew, with a fresh nonce — gets the same answer and costs nothing, even when the
    quota left would not cover it, and also early in the next period."""
    key = _enrolled(core)
    batch_id = os.urandom(16)
    body, states = _batch(core, 7)
    first, charged = core.issue(
        "POST", BATCH_PATH, _signed(key, body, clock.now(), batch_id=batch_id), body
    )
    assert (charged, _used(core)) == (7, 7)
    other, _ = _batch(core, 3)  # the rest of the quota, for another batch
    core.issue("POST", BATCH_PATH, _signed(key, other, clock.now(), batch_id=os.urandom(16)), other)
    clock.advance(30)
    again, charged = core.issue(
        "POST", BATCH_PATH, _signed(key, body, clock.now(), batch_id=batch_id), body
    )
    assert again == first and charged == 0 and _used(core) == 10  # blind RSA is deterministic
    keys = issuer_key_map([_current_key(core)])
    digest = hashlib.sha256(CHALLENGE).digest()
    for state, response in zip(states, decode_batch_response(again, expected=7), strict=True):
        verify_token(client_finalize(state, response), keys, challenge_digest=digest)  # type: ignore[arg-type]
    # The next period: still known (a retry right after the period changed costs nothing).
    clock.advance(DAY)
    core.purge()
    retry = _signed(key, body, clock.now(), batch_id=batch_id)
    assert core.issue("POST", BATCH_PATH, retry, body) == (first, 0)
    # Two periods on, the record is gone: the same batch is a new one, charged (and answered).
    clock.advance(DAY)
    core.purge()
    assert _batches(core) == []
    retry = _signed(key, body, clock.now(), batch_id=batch_id)
    assert core.issue("POST", BATCH_PATH, retry, body) == (first, 7)


def test_retried_batch_with_a_different_body_is_refused(
    core: IssuerCore, clock: FixedClock
) -> None:
    """A batch id is charged once for one body: reusing it for other blinded messages (which
    would be fresh tokens for free) is refused, and nothing is charged for the attempt."""
    key = _enrolled(core)
    batch_id = os.urandom(16)
    body, _ = _batch(core, 4)
    first, _ = core.issue(
        "POST", BATCH_PATH, _signed(key, body, clock.now(), batch_id=batch_id), body
    )
    for n in (4, 1, 6):  # same size, fewer, more
        other, _ = _batch(core, n)
        headers = _signed(key, other, clock.now(), batch_id=batch_id)
        with pytest.raises(errors.ReplayError, match="batch id") as info:
            core.issue("POST", BATCH_PATH, headers, other)
        assert info.value.http_status == 400
    assert _used(core) == 4 and len(_batches(core)) == 1
    # The genuine retry is still answered; another device may use the same id for itself.
    retry = _signed(key, body, clock.now(), batch_id=batch_id)
    assert core.issue("POST", BATCH_PATH, retry, body) == (first, 0)
    stranger = _enrolled(core)
    other, _ = _batch(core, 2)
    headers = _signed(stranger, other, clock.now(), batch_id=batch_id)
    assert core.issue("POST", BATCH_PATH, headers, other)[1] == 2


@pytest.mark.parametrize("what", ["batch id swapped", "batch id added", "batch id removed"])
def test_batch_id_is_covered_by_the_device_signature(
    core: IssuerCore, clock: FixedClock, what: str
) -> None:
    """The batch id is signed (under its own label): nobody on the path can move a request
    onto another batch id, or make a one-shot request pass for a batch or back."""
    key = _enrolled(core)
    body, _ = _batch(core, 1)
    with_id = _signed(key, body, clock.now(), batch_id=os.urandom(16))
    without = _signed(key, body, clock.now())
    if what == "batch id swapped":
        headers = {**with_id, "privcloud-batch": base64.urlsafe_b64encode(os.urandom(16)).decode()}
    elif what == "batch id added":
        headers = {**without, "privcloud-batch": with_id["privcloud-batch"]}
    else:
        headers = {k: v for k, v in with_id.items() if k != "privcloud-batch"}
    with pytest.raises(errors.AuthenticationError, match="does not verify"):
        core.issue("POST", BATCH_PATH, headers, body)
    assert _used(core) == 0 and _batches(core) == []
    for bad in ("AAAA", "!!", base64.urlsafe_b64encode(bytes(17)).decode()):
        with pytest.raises(errors.AuthenticationError, match="malformed"):
            DeviceAuth.from_headers({**with_id, "privcloud-batch": bad})


def test_refused_requests_charge_nothing_and_record_no_batch(
    core: IssuerCore, clock: FixedClock
) -> None:
    """Every refusal before signing — unsigned, unknown device, bad signature, stale, unknown
    key, replayed nonce, batch id reused, over quota — leaves the quota and the batch records
    as they were."""
    key = _enrolled(core)
    body, _ = _batch(core, 3)
    batch_id = os.urandom(16)
    headers = _signed(key, body, clock.now(), batch_id=batch_id)
    core.issue("POST", BATCH_PATH, headers, body)
    before = (_used(core), _batches(core))
    current = _current_key(core)
    bad_key = encode_batch_request(
        [TokenRequest(TOKEN_TYPE_BLIND_RSA, current.truncated_key_id ^ 0xFF, bytes(256)).encode()]
    )
    big, _ = _batch(core, 8)
    other, _ = _batch(core, 2)
    stale = clock.now() - limits.ISSUANCE_REQUEST_WINDOW_S - 1
    attempts: list[tuple[type[errors.PrivcloudError], dict[str, str], bytes]] = [
        (errors.AuthenticationError, {}, body),
        (
            errors.AuthenticationError,
            _signed(Ed25519PrivateKey.generate(), body, clock.now()),
            body,
        ),
        (
            errors.AuthenticationError,
            {**_signed(key, other, clock.now()), "privcloud-device": headers["privcloud-device"]},
            body,
        ),
        (errors.AuthenticationError, _signed(key, body, stale, batch_id=os.urandom(16)), body),
        (
            errors.UnknownKeyError,
            _signed(key, bad_key, clock.now(), batch_id=os.urandom(16)),
            bad_key,
        ),
        (errors.ReplayError, headers, body),
        (errors.ReplayError, _signed(key, other, clock.now(), batch_id=batch_id), other),
        (errors.RateLimitedError, _signed(key, big, clock.now(), batch_id=os.urandom(16)), big),
    ]
    for error, attempt, payload in attempts:
        with pytest.raises(error):
            core.issue("POST", BATCH_PATH, attempt, payload)
        assert (_used(core), _batches(core)) == before, error.__name__


def test_signing_failure_gives_back_a_one_shot_charge_and_a_batch_retry_delivers(
    core: IssuerCore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Charged, then signing fails (the RFC 9474 fault check, say): a request without a batch
    id cannot be retried, so its charge is given back; a batch keeps its charge and is answered
    when it comes again."""
    import privcloud.services.issuer_core as issuer_module

    real = issuer_module.issuer_evaluate  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> bytes:
        raise errors.CryptoError("blind signature fault check failed")

    key = _enrolled(core)
    monkeypatch.setattr(issuer_module, "issuer_evaluate", broken)
    body, _ = _batch(core, 3)
    with pytest.raises(errors.CryptoError):
        core.issue("POST", BATCH_PATH, _signed(key, body, clock.now()), body)
    assert _used(core) == 0
    batch_id = os.urandom(16)
    with pytest.raises(errors.CryptoError):
        core.issue("POST", BATCH_PATH, _signed(key, body, clock.now(), batch_id=batch_id), body)
    assert _used(core) == 3
    monkeypatch.setattr(issuer_module, "issuer_evaluate", real)
    retry = _signed(key, body, clock.now(), batch_id=batch_id)
    answer, charged = core.issue("POST", BATCH_PATH, retry, body)
    assert charged == 0 and len(decode_batch_response(answer, expected=3)) == 3
    assert _used(core) == 3


def test_batch_records_hold_no_time_and_nothing_of_the_tokens(
    core: IssuerCore, clock: FixedClock
) -> None:
    """What a batch leaves behind: the device id, the random id the device chose, SHA-256 of
    the body it sent (blinded messages) and the quota period's number — no request time, no
    answer. Revoking the device drops its records."""
    key = _enrolled(core)
    body, _ = _batch(core, 2)
    batch_id = os.urandom(16)
    clock.advance(1234)
    core.issue("POST", BATCH_PATH, _signed(key, body, clock.now(), batch_id=batch_id), body)
    device_id = device_id_for(key.public_bytes())
    period = int(clock.now()) // DAY
    assert _batches(core) == [(device_id, batch_id, hashlib.sha256(body).digest(), period)]
    assert _columns(core, "issuance_batches") == ["device_id", "batch_id", "body_hash", "period"]
    assert core.store.remove_device(device_id)
    assert _batches(core) == []
