"""Each enrolment challenge (and operator code) is accepted exactly once, on SQLite and on
PostgreSQL alike (``store_url``): whether it enrols a new device or enrols one again, and under
concurrent use by many issuer processes sharing the store.

The store's :meth:`~privcloud.storage.issuer_store.IssuerStore.use_enrolment_code` is one
``DELETE … RETURNING`` statement; the issuer uses it up on a re-enrolment, which registers no
row. Chains are synthetic (tests/support/android_synthetic.py), as in test_attested_enrolment.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from android_synthetic import NOW, SyntheticAndroid, SyntheticDevice
from privcloud import errors, limits
from privcloud.clock import FixedClock
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.deviceattest import parse_status_list
from privcloud.privacypass.issuance import encode_attested_enrolment
from privcloud.services.issuer_core import IssuerConfig, IssuerCore
from privcloud.storage.database import Database
from privcloud.storage.issuer_store import IssuerStore
from race import race

PROCESSES = 8
NO_REVOCATIONS = parse_status_list(b'{"entries": {}}')


@pytest.fixture(scope="module")
def android() -> SyntheticAndroid:
    return SyntheticAndroid()


@pytest.fixture
def cores(store_url: str, android: SyntheticAndroid) -> Iterator[list[IssuerCore]]:
    """Issuer processes sharing one store, each over its own connection."""
    db = Database.from_url(store_url)
    made = [
        IssuerCore(
            db.issuer(),
            IssuerConfig(quota=5, android_policy=android.policy()),
            clock=FixedClock(NOW),
            attestation_status=NO_REVOCATIONS,
        )
        for _ in range(PROCESSES)
    ]
    yield made
    for core in made:
        core.store.close()


def _body(device: SyntheticDevice, key: Ed25519PrivateKey, challenge: bytes) -> bytes:
    return encode_attested_enrolment(key, challenge, device.attest(challenge), device.sign)


def _enrolled(core: IssuerCore, device: SyntheticDevice, key: Ed25519PrivateKey) -> bytes:
    challenge, _ = core.new_challenge()
    device_id, attested = core.enrol(_body(device, key, challenge))
    assert attested
    return device_id


def _refused_for_the_challenge(result: object) -> bool:
    return isinstance(result, errors.DeviceAttestationError) and str(result).startswith(
        "challenge:"
    )


# --- the store ----------------------------------------------------------------------------------


def test_enrolment_code_is_used_up_once_and_not_when_unknown_or_expired(store_url: str) -> None:
    store = Database.from_url(store_url).issuer()
    try:
        store.add_enrolment_code(b"c" * 32, 100)
        store.add_enrolment_code(b"e" * 32, 100)
        assert not store.use_enrolment_code(b"u" * 32, 10.0)  # never made
        assert not store.use_enrolment_code(b"e" * 32, 100.0)  # expired at 100
        assert store.use_enrolment_code(b"c" * 32, 99.5)
        assert not store.use_enrolment_code(b"c" * 32, 10.0)  # used
        with pytest.raises(errors.AuthenticationError):
            store.enrol(b"c" * 32, b"d" * 16, b"k" * 32, 10.0)
    finally:
        store.close()


def test_enrolment_code_used_concurrently_by_many_processes_is_used_once(
    store_url: str,
) -> None:
    db = Database.from_url(store_url)
    stores: list[IssuerStore] = [db.issuer() for _ in range(PROCESSES)]
    try:
        for _ in range(3):
            code = os.urandom(32)
            stores[0].add_enrolment_code(code, 2**40)
            results = race(PROCESSES, lambda i, code=code: stores[i].use_enrolment_code(code, 1.0))
            assert results.count(True) == 1
            assert results.count(False) == PROCESSES - 1
    finally:
        for store in stores:
            store.close()


def test_enrolment_refused_for_a_known_key_keeps_the_code_for_its_device(
    store_url: str,
) -> None:
    store = Database.from_url(store_url).issuer()
    try:
        store.add_enrolment_code(b"a" * 32, 2**40)
        store.enrol(b"a" * 32, b"d" * 16, b"k" * 32, 1.0)
        store.add_enrolment_code(b"b" * 32, 2**40)
        with pytest.raises(errors.ReplayError):
            store.enrol(b"b" * 32, b"d" * 16, b"k" * 32, 1.0)
        store.enrol(b"b" * 32, b"x" * 16, b"y" * 32, 1.0)  # the refusal rolled the use back
    finally:
        store.close()


def test_a_challenge_is_used_once_by_its_first_use_and_not_after_its_expiry(
    store_url: str,
) -> None:
    store = Database.from_url(store_url).issuer()
    try:
        assert not store.use_enrolment_code(b"c" * 32, 100.0, challenge_expires=100)  # expired
        assert store.use_enrolment_code(b"c" * 32, 10.0, challenge_expires=100)
        assert not store.use_enrolment_code(b"c" * 32, 10.0, challenge_expires=100)  # used
        with pytest.raises(errors.AuthenticationError):
            store.enrol(b"c" * 32, b"d" * 16, b"k" * 32, 10.0, challenge_expires=100)
        store.enrol(b"n" * 32, b"d" * 16, b"k" * 32, 10.0, challenge_expires=100)
        store.purge(100.0 + limits.ISSUER_CLOCK_SKEW_S - 1)  # (kept for a clock behind)
        assert not store.use_enrolment_code(b"c" * 32, 10.0, challenge_expires=100)
        store.purge(100.0 + limits.ISSUER_CLOCK_SKEW_S)  # then its row goes
        assert store.use_enrolment_code(b"c" * 32, 10.0, challenge_expires=100)
    finally:
        store.close()


# --- the issuer ---------------------------------------------------------------------------------


def test_challenge_used_by_a_reenrolment_cannot_enrol_another_device(
    cores: list[IssuerCore], android: SyntheticAndroid
) -> None:
    core = cores[0]
    device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    device_id = _enrolled(core, device, key)
    challenge, _ = core.new_challenge()
    assert core.enrol(_body(device, key, challenge)) == (device_id, True)  # re-enrolment
    other = _body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge)
    for process in cores[:2]:
        with pytest.raises(errors.DeviceAttestationError, match=r"^challenge:"):
            process.enrol(other)


def test_challenge_used_by_a_refused_reenrolment_cannot_enrol_another_device(
    cores: list[IssuerCore], android: SyntheticAndroid
) -> None:
    core = cores[0]
    device = SyntheticDevice(android)
    _enrolled(core, device, Ed25519PrivateKey.generate())
    challenge, _ = core.new_challenge()
    with pytest.raises(errors.ReplayError):  # same attested key, another request key
        core.enrol(_body(device, Ed25519PrivateKey.generate(), challenge))
    with pytest.raises(errors.DeviceAttestationError, match=r"^challenge:"):
        core.enrol(_body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge))


def test_reenrolment_with_an_expired_challenge_is_refused(
    cores: list[IssuerCore], android: SyntheticAndroid
) -> None:
    core = cores[0]
    device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    _enrolled(core, device, key)
    challenge, expires = core.new_challenge()
    assert isinstance(core.clock, FixedClock)
    core.clock.advance(expires - NOW)  # expired at its expiry
    with pytest.raises(errors.DeviceAttestationError, match=r"^challenge:"):
        core.enrol(_body(device, key, challenge))


def test_one_challenge_raced_by_reenrolments_and_new_devices_is_accepted_once(
    cores: list[IssuerCore], android: SyntheticAndroid
) -> None:
    enrolled, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    device_id = _enrolled(cores[0], enrolled, key)
    challenge, _ = cores[0].new_challenge()
    # Half the processes get a re-enrolment of the enrolled device, half a new device's
    # enrolment, all with the one challenge (chains are made before the race).
    bodies = [
        _body(enrolled, key, challenge)
        if i % 2
        else _body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge)
        for i in range(PROCESSES)
    ]
    results = race(PROCESSES, lambda i: cores[i].enrol(bodies[i]))
    accepted = [r for r in results if isinstance(r, tuple)]
    assert len(accepted) == 1, results
    assert all(isinstance(r, tuple) or _refused_for_the_challenge(r) for r in results), results
    winner = results.index(accepted[0])
    if winner % 2:
        assert accepted[0] == (device_id, True)


def test_concurrent_reenrolments_with_one_challenge_succeed_once(
    cores: list[IssuerCore], android: SyntheticAndroid
) -> None:
    device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    device_id = _enrolled(cores[0], device, key)
    challenge, _ = cores[0].new_challenge()
    body = _body(device, key, challenge)
    results = race(PROCESSES, lambda i: cores[i].enrol(body))
    assert results.count((device_id, True)) == 1, results
    assert sum(_refused_for_the_challenge(r) for r in results) == PROCESSES - 1, results


def test_asking_for_enrolment_challenges_writes_nothing_to_the_store(
    cores: list[IssuerCore], store_url: str
) -> None:
    # The attack (a red-team review, 2026-12-07): POST /v1/enrol/challenge needs nothing,
    # and each challenge was a row kept for its lifetime: one client made 1,697 rows a
    # second, about 509,000 outstanding (168 MiB) at any time, with no bound.
    store = Database.from_url(store_url).issuer()
    try:
        before = store._read("SELECT count(*) FROM enrolment_codes")[0][0]
        challenges = {cores[i % PROCESSES].new_challenge()[0] for i in range(200)}
        assert len(challenges) == 200
        assert store._read("SELECT count(*) FROM enrolment_codes")[0][0] == before
        assert store._read("SELECT count(*) FROM used_challenges")[0][0] == 0
    finally:
        store.close()


def test_a_challenge_no_issuer_of_the_store_made_is_refused_before_the_chain_is_read(
    cores: list[IssuerCore], android: SyntheticAndroid
) -> None:
    device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    made, _ = cores[0].new_challenge()
    forged = [
        bytes(32),
        made[:-1] + bytes([made[-1] ^ 1]),  # its tag altered
        (int.from_bytes(made[:4], "big") + 60).to_bytes(4, "big") + made[4:],  # a later expiry
    ]
    for challenge in forged:
        with pytest.raises(errors.DeviceAttestationError, match=r"^challenge:"):
            cores[1].enrol(_body(device, key, challenge))
    assert cores[1].enrol(_body(device, key, made))[1]  # any process takes the one it made


def test_a_used_challenge_cannot_be_used_again_after_an_issuer_ahead_purged_it(
    store_url: str, android: SyntheticAndroid
) -> None:
    # A red-team review (2026-12-07): a used challenge is a row, and an issuer process whose
    # clock ran 30 s ahead purged it at what it took for the challenge's expiry, while a
    # process on time still accepted the challenge: the same enrolment went through again (a
    # device revoked meanwhile would have been registered again). And a challenge made by a
    # process 2.5 s ahead was refused by one on time.
    db = Database.from_url(store_url)
    config = IssuerConfig(quota=5, android_policy=android.policy())
    on_time, ahead = (
        IssuerCore(db.issuer(), config, clock=FixedClock(NOW + skew),
                   attestation_status=NO_REVOCATIONS)
        for skew in (0, 30)
    )  # fmt: skip
    try:
        device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
        challenge, expires = on_time.new_challenge()
        body = _body(device, key, challenge)
        assert on_time.enrol(body)[1]
        assert isinstance(on_time.clock, FixedClock) and isinstance(ahead.clock, FixedClock)
        on_time.clock.advance(expires - NOW - 10)  # 10 s before the expiry
        ahead.clock.advance(expires - NOW - 10)  # 20 s past it, by its clock
        ahead.store.purge(ahead.clock.now())
        with pytest.raises(errors.DeviceAttestationError, match=r"^challenge:"):
            on_time.enrol(body)
        # A challenge from the process ahead, taken by the one on time a second later.
        early, _ = IssuerCore(
            db.issuer(), config, clock=FixedClock(NOW + 2.5), attestation_status=NO_REVOCATIONS
        ).new_challenge()
        other = SyntheticDevice(android)
        fresh = IssuerCore(
            db.issuer(), config, clock=FixedClock(NOW + 1), attestation_status=NO_REVOCATIONS
        )
        assert fresh.enrol(_body(other, Ed25519PrivateKey.generate(), early))[1]
    finally:
        on_time.store.close()
        ahead.store.close()
