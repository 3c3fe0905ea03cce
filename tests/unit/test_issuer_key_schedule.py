"""The one schedule of every issuer's token keys (docs/adr/0009, decision 8; limits
``ISSUER_KEY_STEP_S``, ``ISSUER_KEY_LIFETIME_S``).

The attack (a review of every value the operator gives a device): issuer key statements had a
longest validity but no schedule. An issuer that logged a new key every few minutes, never
more than two valid at once, passed every check of the wallet and of the log audit; each
batch was then blinded under the key of the window in which that device fetched, the issuer
knew who fetched in which window, and the gateway read the key id off every token: a device
alone in its window had its requests linked to its identity. And with the newest key known as
the rule, an issuer that logged a step's key late made a window of the fetches between the two
logs. Sans network: statements and the wallet's choice of key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from privcloud import errors, limits
from privcloud.cli.tlog_audit import _check_key_statements
from privcloud.clock import FixedClock
from privcloud.crypto import blindrsa
from privcloud.privacypass import IssuerKey
from privcloud.privacypass.issuance import PublishedKey
from privcloud.sdk.wallet import Wallet
from privcloud.sdk.wallet_state import HeldToken, WalletConfig
from privcloud.services.issuer_core import IssuerConfig, IssuerCore
from privcloud.storage.issuer_store import IssuerStore, StoredKey
from privcloud.trust.keys import KeyKind, KeyStatement, check_statement, issuer_step

ISSUER = "issuer.example"
STEP, LIFETIME = limits.ISSUER_KEY_STEP_S, limits.ISSUER_KEY_LIFETIME_S
START = issuer_step(1_800_000_000)  # a step of the schedule
SPKIS = [
    IssuerKey.from_public_key(blindrsa.generate_private_key(2048).public_key()).spki
    for _ in range(3)
]


def _statement(spki: bytes, not_before: int, not_after: int) -> KeyStatement:
    return KeyStatement.for_token_key(ISSUER, spki, not_before, not_after)


def test_keys_for_short_windows_of_fetches_are_refused_by_devices_and_the_audit() -> None:
    window = 300  # a new key every five minutes, each valid ten: two valid at once
    short = [_statement(SPKIS[i], START + i * window, START + (i + 2) * window) for i in range(3)]
    for statement in short:
        with pytest.raises(errors.KeyConsistencyError, match="schedule"):
            check_statement(statement, kind=KeyKind.ISSUER, service=ISSUER, now=START + 1)
    # The audit: after the issuer's first key on the schedule (before it, its keys are an
    # earlier release's, which made keys of its own lengths; devices of this release refuse
    # them, so an issuer logging none on the schedule has no device of this release fetch).
    first = _statement(SPKIS[2], START - STEP, START - STEP + LIFETIME)
    with pytest.raises(errors.VerificationError, match="schedule"):
        _check_key_statements(list(enumerate([first, *short])))
    # Off the grid, though as long as the schedule's: refused too.
    late = _statement(SPKIS[0], START + 60, START + 60 + LIFETIME)
    with pytest.raises(errors.KeyConsistencyError, match="schedule"):
        check_statement(late, kind=KeyKind.ISSUER, service=ISSUER, now=START + 61)
    on = _statement(SPKIS[0], START, START + LIFETIME)
    check_statement(on, kind=KeyKind.ISSUER, service=ISSUER, now=START + 1)
    _check_key_statements(
        [(0, on), (1, _statement(SPKIS[1], START + STEP, START + STEP + LIFETIME))]
    )


def test_two_keys_for_one_step_fail_the_audit() -> None:
    a = _statement(SPKIS[0], START, START + LIFETIME)
    b = _statement(SPKIS[1], START, START + LIFETIME)
    with pytest.raises(errors.VerificationError):
        _check_key_statements([(0, a), (1, b)])


def _wallet(at: float, keys: list[PublishedKey]) -> Wallet:
    wallet = Wallet(
        f"https://{ISSUER}",
        enrolment_code="code",
        clock=FixedClock(at),
        config=WalletConfig(issuer_name=ISSUER),
    )
    wallet._keys = keys
    return wallet


def _published(spki: bytes, not_before: int) -> PublishedKey:
    return PublishedKey(IssuerKey.from_spki(spki), not_before, not_before + LIFETIME)


def test_every_wallet_fetching_in_one_step_uses_its_key_whenever_it_was_logged() -> None:
    previous = _published(SPKIS[0], START - STEP)  # valid for the step's first day too
    current = _published(SPKIS[1], START)
    successor = _published(SPKIS[2], START + STEP)  # published a day ahead
    everything = [successor, current, previous]
    skew = limits.KEY_STATEMENT_SKEW_S
    for at in (START + skew, START + STEP / 2, START + STEP + skew - 1):
        assert _wallet(at, everything)._current_key() == current
    # The step's key logged late (the wallet does not know it yet): no fetch under the
    # previous key, which would have put this wallet in a window of the issuer's making.
    assert _wallet(START + skew, [previous])._current_key() is None
    # A clock a little ahead of the issuer's: the step's key from a skew into the step only
    # (the issuer signs under it from its start on its own clock; a review).
    assert _wallet(START + skew - 1, everything)._current_key() == previous


def test_the_audit_holds_an_earlier_releases_keys_to_none_and_accepts_named_rekeys() -> None:
    # A log keeps every statement for ever: keys an issuer made before its upgrade (logged
    # before its first key on the schedule) do not fail every later audit (devices refuse
    # them all the same).
    before = START - 10 * 86400 + 3600  # (off the grid)
    old = _statement(SPKIS[0], before, before + 7 * 86400)
    with pytest.raises(errors.KeyConsistencyError):
        check_statement(old, kind=KeyKind.ISSUER, service=ISSUER, now=before + 1)
    _check_key_statements([(0, old)])
    # Logged after the issuer's first key on the schedule, the same key fails.
    on = _statement(SPKIS[1], START - STEP, START - STEP + LIFETIME)
    _check_key_statements([(0, old), (1, on)])
    with pytest.raises(errors.VerificationError, match="schedule"):
        _check_key_statements([(0, on), (1, old)])
    # An issuer that replaced a key within a step (lost, compromised) fails the audit, unless
    # the auditor accepts that step by name.
    a = _statement(SPKIS[0], START, START + LIFETIME)
    b = _statement(SPKIS[1], START, START + LIFETIME)
    _check_key_statements([(0, a), (1, b)], frozenset({START}))
    with pytest.raises(errors.VerificationError):
        _check_key_statements([(0, a), (1, b)], frozenset({START + STEP}))


def test_a_step_straddling_an_issuers_upgrade_is_held_to_one_key() -> None:
    # The upgrade is no step boundary: the first key on the schedule begins at the start of
    # the step in force, before the upgrade. Two for that step still fail the audit.
    old = _statement(SPKIS[2], START - 3 * 86400 + 60, START + 4 * 86400 + 60)
    a = _statement(SPKIS[0], START, START + LIFETIME)
    b = _statement(SPKIS[1], START, START + LIFETIME)
    _check_key_statements([(0, old), (1, a)])
    with pytest.raises(errors.VerificationError):
        _check_key_statements([(0, old), (1, a), (2, b)])


def test_an_accepted_rekey_excuses_the_replaced_key_in_every_rule() -> None:
    # An issuer replaced its key within a step (lost, compromised): the step's old key, its
    # new one, the previous step's key (valid the first day) and the successor make three
    # valid at once at times; the auditor's acceptance excuses the first logged of the step's
    # keys from every rule, and only that one (a review: it excused the duplicate rule alone).
    previous = _statement(SPKIS[0], START - STEP, START - STEP + LIFETIME)
    replaced = _statement(SPKIS[1], START, START + LIFETIME)
    new = _statement(SPKIS[2], START, START + LIFETIME)
    log = [(0, previous), (1, replaced), (2, new)]
    with pytest.raises(errors.VerificationError):
        _check_key_statements(log)
    _check_key_statements(log, frozenset({START}))
    third = _statement(SPKIS[0], START, START + LIFETIME)
    with pytest.raises(errors.VerificationError):
        _check_key_statements([*log, (3, third)], frozenset({START}))


async def test_tokens_of_a_listed_key_no_wallet_fetches_under_are_kept() -> None:
    # An issuer not yet upgraded lists its last key from before the schedule beside the step's:
    # the gateway takes that key's tokens, so a wallet of this release keeps them, though it
    # never fetches under it (a review: they were dropped as "no longer listed").
    from types import SimpleNamespace

    on = _published(SPKIS[0], START)
    old = PublishedKey(IssuerKey.from_spki(SPKIS[1]), START + 600, START + 600 + 3 * 86400)
    wallet = _wallet(START + 3600, [])

    async def read(_: str) -> tuple[object, list[PublishedKey]]:
        return SimpleNamespace(issuer_request_uri="/token-request"), [on, old]

    class _Proofs:
        async def prove_issuer_keys(
            self, keys: list[PublishedKey], name: str, *, now: float
        ) -> list[PublishedKey]:
            return [on]  # (the off-schedule key left out unproven)

    wallet._read_directory = read  # type: ignore[assignment, method-assign]
    wallet._key_proofs = _Proofs()  # type: ignore[assignment]
    digest = wallet._purse.challenge_digest
    wallet._purse.add([HeldToken(bytes(98), old.key.key_id, digest, expires=old.expires)] * 3)
    await wallet.refresh_keys()
    assert len(wallet._purse.tokens) == 3
    assert wallet._current_key() == on


def _earlier_release(started: int, until: int) -> list[tuple[StoredKey, KeyStatement]]:
    """The keys an issuer of the release before the schedule made from ``started`` to
    ``until`` (its defaults: 7-day keys overlapping by a day, each successor made two overlaps
    before the newest key's end), with the statements it logged."""
    day, made, start = 86400, [], started
    while (start - day if start != started else start) <= until:
        private = blindrsa.generate_private_key(2048)
        public = IssuerKey.from_public_key(private.public_key())
        stored = StoredKey(
            public.key_id, blindrsa.private_key_to_der(private), start, start + 7 * day
        )
        made.append((stored, _statement(public.spki, start, start + 7 * day)))
        start += 6 * day
    return made


@pytest.mark.parametrize("days_after", [1, 10])
def test_an_honest_issuer_upgrade_passes_the_log_audit(tmp_path: Path, days_after: int) -> None:
    # A review: the upgraded issuer drops the earlier release's key valid then and makes the
    # key of the step in force (begun up to a step before); the logged validities made three
    # keys at once, and an issuer upgraded after a fixed date had logged keys off the schedule
    # beginning after it: the audit failed for ever on every honest upgrade.
    upgrade = START + days_after * 86400 + 5 * 3600
    old = _earlier_release(START - 20 * 86400 - 5 * 3600, upgrade)
    log = [statement for _, statement in old]
    store = IssuerStore(tmp_path / "issuer.sqlite3")
    for stored, _ in old:  # its store at the upgrade: the keys not yet expired
        if stored.expires > upgrade:
            newest = store.keys()[0].not_before if store.keys() else None
            assert store.add_key_if_newest(stored, newest)
    clock = FixedClock(upgrade)
    core = IssuerCore(store, IssuerConfig(insecure_operator_codes=True), clock=clock)
    for _ in range(4 * 20):  # twenty days of the upgraded issuer, logging its keys
        core.rotate()
        log += [s for s in core.key_statements(ISSUER) if s not in log]
        clock.advance(86400 / 4)
    store.close()
    _check_key_statements(list(enumerate(log)))


def test_an_issuer_logging_keys_for_later_windows_before_its_first_scheduled_key_fails() -> None:
    # A review: keys logged before the issuer's first key on the schedule were an earlier
    # release's whatever they held, so an issuer could log, just before that key, keys for
    # windows weeks ahead (four valid at once beside the schedule's two, or ten-minute
    # windows) for the devices of the earlier release, which fetch under any logged key. An
    # earlier release made its keys a day or two ahead: one beginning after the end of the
    # issuer's first key on the schedule fails.
    day, later = 86400, START + 3 * STEP
    ahead = [_statement(SPKIS[i], later + 100 * i, later + 100 * i + 20 * day) for i in (0, 1)]
    schedule = [
        _statement(SPKIS[i % 3], START + i * STEP, START + i * STEP + LIFETIME) for i in range(6)
    ]
    with pytest.raises(errors.VerificationError, match="after that key's end"):
        _check_key_statements(list(enumerate([*ahead, *schedule])))
    windows = [
        _statement(SPKIS[i % 2], START + LIFETIME + 600 * i, START + LIFETIME + 600 * (i + 1))
        for i in range(6)
    ]
    with pytest.raises(errors.VerificationError, match="after that key's end"):
        _check_key_statements(list(enumerate([*windows, *schedule])))
    # A day ahead of the upgrade, as an earlier release made them, passes.
    made = _statement(SPKIS[0], START + LIFETIME - 600, START + LIFETIME - 600 + 7 * day)
    _check_key_statements(list(enumerate([made, *schedule[:2]])))


def test_an_issuer_not_yet_upgraded_passes_the_audit_wherever_its_keys_sit_in_the_log() -> None:
    # A review: the cut-off of an issuer with no key on the schedule compared log indexes with
    # the number of key statements, so an honest issuer not yet upgraded failed the audit once
    # its keys sat past that count in the log (release manifests, directory statements).
    a = _statement(SPKIS[0], START + 3600, START + 3600 + 7 * 86400)
    b = _statement(SPKIS[1], START + 3600 + 6 * 86400, START + 3600 + 13 * 86400)
    _check_key_statements([(5000, a), (5900, b)])
