"""Attested enrolment at the issuer (services/issuer.py over privcloud.deviceattest): one attack
test per check, each refused with its reason; the quota identity across re-enrolment; the
challenge used once; bounds; operator codes refused by production defaults.

Chains are synthetic (tests/support/android_synthetic.py): minted under a test root that only
these tests pin, so that the issuer's flow, the challenge included, runs end to end. The real
chains are in tests/vectors/test_android_attestation.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import aiohttp
import pytest

from android_synthetic import (
    APP,
    NOW,
    Record,
    SyntheticAndroid,
    SyntheticDevice,
    explicit,
    integer,
    tlv,
)
from privcloud import errors, limits
from privcloud.clock import FixedClock
from privcloud.crypto.signing import Ed25519PrivateKey
from privcloud.crypto.x509 import Curve, EcPrivateKey
from privcloud.deviceattest import (
    AndroidPolicy,
    Reason,
    attested_device_id,
    parse_status_list,
    verify_android_attestation,
)
from privcloud.deviceattest.keydescription import KeyOrigin
from privcloud.deviceattest.status import serial_key
from privcloud.privacypass import TOKEN_TYPE_BLIND_RSA, TokenChallenge, client_begin
from privcloud.privacypass.issuance import (
    BATCH_PATH,
    decode_enrolment_request,
    encode_attested_enrolment,
    encode_batch_request,
    encode_enrolment,
    parse_issuer_directory,
    sign_device_request,
)
from privcloud.sdk.wallet import Wallet, WalletConfig
from privcloud.services.issuer import Issuer
from privcloud.services.issuer_core import IssuerConfig, IssuerCore
from privcloud.services.site import start_site
from privcloud.storage.database import Database

DAY = 24 * 3600
QUOTA = 5
NO_REVOCATIONS = parse_status_list(b'{"entries": {}}')
CHALLENGE = TokenChallenge(TOKEN_TYPE_BLIND_RSA, b"issuer.test", b"", b"privcloud.gateway").encode()


@pytest.fixture(scope="module")
def android() -> SyntheticAndroid:
    return SyntheticAndroid()


def _core(store_url: str, android: SyntheticAndroid, **config: object) -> IssuerCore:
    settings: dict[str, object] = {
        "quota": QUOTA,
        "period_s": DAY,
        "android_policy": android.policy(),
    }
    settings.update(config)
    return IssuerCore(
        Database.from_url(store_url).issuer(),
        IssuerConfig(**settings),  # type: ignore[arg-type]
        clock=FixedClock(NOW),
        attestation_status=NO_REVOCATIONS,
    )


@pytest.fixture
def core(tmp_path: Path, android: SyntheticAndroid) -> Iterator[IssuerCore]:
    issuer = _core(f"sqlite:///{tmp_path / 'issuer.sqlite3'}", android)
    yield issuer
    issuer.store.close()


def _body(
    device: SyntheticDevice,
    key: Ed25519PrivateKey,
    challenge: bytes,
    *,
    chain: Sequence[bytes] | None = None,
    signer: SyntheticDevice | None = None,
) -> bytes:
    chain = list(chain if chain is not None else device.attest(challenge))
    return encode_attested_enrolment(key, challenge, chain, (signer or device).sign)


def _enrol(core: IssuerCore, device: SyntheticDevice, key: Ed25519PrivateKey) -> bytes:
    challenge, _ = core.new_challenge()
    device_id, attested = core.enrol(_body(device, key, challenge))
    assert attested
    return device_id


def _refused(core: IssuerCore, body: bytes, reason: Reason) -> None:
    with pytest.raises(errors.DeviceAttestationError, match=f"^{reason}:"):
        core.enrol(body)


def _fetch(core: IssuerCore, key: Ed25519PrivateKey, device_id: bytes, n: int) -> int:
    _, keys = parse_issuer_directory(core.directory())
    token_key = next(k.key for k in keys if k.valid_at(NOW))
    body = encode_batch_request([client_begin(CHALLENGE, token_key)[0] for _ in range(n)])
    auth = sign_device_request(key, "POST", BATCH_PATH, body, now=NOW, device_id=device_id)
    _, charged = core.issue("POST", BATCH_PATH, auth.headers(), body)
    return charged


# --- the flow ---------------------------------------------------------------------------------


def test_attested_device_enrols_and_gets_tokens_under_its_attested_id(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    device_id = _enrol(core, device, key)
    spki = device.android.chain(device.key, Record(b"x" * 32))[0]
    assert device_id == attested_device_id(
        verify_android_attestation(
            [spki, android.intermediate.der, android.root.der],
            challenge=b"x" * 32,
            at=NOW,
            policy=android.policy(),
            status=None,
        ).key.public_key_info()
    )
    assert core.store.device_key(device_id) == key.public_bytes()
    assert _fetch(core, key, device_id, 2) == 2


def test_reenrolment_of_the_same_device_key_keeps_its_quota(
    store_url: str, android: SyntheticAndroid
) -> None:
    core = _core(store_url, android)
    try:
        device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
        device_id = _enrol(core, device, key)
        assert _fetch(core, key, device_id, QUOTA) == QUOTA
        for _ in range(3):  # enrolling again: same id, the quota stays spent
            assert _enrol(core, device, key) == device_id
        with pytest.raises(errors.RateLimitedError):
            _fetch(core, key, device_id, 1)
    finally:
        core.store.close()


def test_same_attested_key_with_another_request_key_gets_no_second_quota(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device = SyntheticDevice(android)
    _enrol(core, device, Ed25519PrivateKey.generate())
    challenge, _ = core.new_challenge()
    with pytest.raises(errors.ReplayError):
        core.enrol(_body(device, Ed25519PrivateKey.generate(), challenge))


def test_challenge_used_twice_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    challenge, _ = core.new_challenge()
    core.enrol(_body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge))
    _refused(
        core,
        _body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge),
        Reason.CHALLENGE,
    )


def test_challenge_replayed_in_a_reenrolment_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device, key = SyntheticDevice(android), Ed25519PrivateKey.generate()
    _enrol(core, device, key)
    challenge, _ = core.new_challenge()
    body = _body(device, key, challenge)
    core.enrol(body)
    _refused(core, body, Reason.CHALLENGE)


def test_challenge_the_issuer_never_sent_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    made_up = bytes(range(32))
    _refused(
        core,
        _body(SyntheticDevice(android), Ed25519PrivateKey.generate(), made_up),
        Reason.CHALLENGE,
    )


def test_expired_challenge_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    challenge, expires = core.new_challenge()
    assert isinstance(core.clock, FixedClock)
    core.clock.advance(expires + 1 - NOW)
    _refused(
        core,
        _body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge),
        Reason.CHALLENGE,
    )


# --- one attack per check ---------------------------------------------------------------------


def _attack(core: IssuerCore, android: SyntheticAndroid, reason: Reason, **record: object) -> None:
    device = SyntheticDevice(android, record_changes=record)
    challenge, _ = core.new_challenge()
    _refused(core, _body(device, Ed25519PrivateKey.generate(), challenge), reason)


def test_attestation_of_another_challenge_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device = SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    other, _ = core.new_challenge()
    body = _body(device, Ed25519PrivateKey.generate(), challenge, chain=device.attest(other))
    _refused(core, body, Reason.CHALLENGE)


def test_software_only_key_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.SECURITY_LEVEL, attestation_level=0, keymint_level=0)


def test_software_keymint_behind_a_tee_attestation_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    _attack(core, android, Reason.SECURITY_LEVEL, attestation_level=1, keymint_level=0)


def test_tee_key_below_a_strongbox_policy_is_refused(
    tmp_path: Path, android: SyntheticAndroid
) -> None:
    from privcloud.deviceattest.keydescription import SecurityLevel

    policy = android.policy(min_security_level=SecurityLevel.STRONG_BOX)
    core = _core(f"sqlite:///{tmp_path / 's.sqlite3'}", android, android_policy=policy)
    _attack(core, android, Reason.SECURITY_LEVEL)
    device = SyntheticDevice(android, record_changes={"attestation_level": 2, "keymint_level": 2})
    _enrol(core, device, Ed25519PrivateKey.generate())


def test_unlocked_bootloader_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.ROOT_OF_TRUST, locked=False)


def test_unverified_boot_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.ROOT_OF_TRUST, boot_state=2)
    _attack(core, android, Reason.ROOT_OF_TRUST, boot_state=1)  # self-signed (custom OS)


def test_unlocked_device_is_accepted_only_by_the_insecure_dev_policy(
    tmp_path: Path, android: SyntheticAndroid
) -> None:
    policy = android.policy(insecure_allow_unlocked=True)
    assert policy.insecure and not AndroidPolicy().insecure
    core = _core(f"sqlite:///{tmp_path / 'd.sqlite3'}", android, android_policy=policy)
    device = SyntheticDevice(android, record_changes={"locked": False, "boot_state": 2})
    _enrol(core, device, Ed25519PrivateKey.generate())


def test_revoked_serial_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    entry = {serial_key(android.intermediate.serial_number): {"status": "REVOKED"}}
    core.attestation_status = parse_status_list(json.dumps({"entries": entry}).encode())
    _attack(core, android, Reason.REVOKED)


def test_chain_to_another_root_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    other = SyntheticAndroid()
    device = SyntheticDevice(other)
    challenge, _ = core.new_challenge()
    _refused(core, _body(device, Ed25519PrivateKey.generate(), challenge), Reason.UNTRUSTED_ROOT)


def test_chain_to_the_real_google_roots_policy_refuses_the_synthetic_root(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    chain = SyntheticDevice(android).attest(b"c" * 32)
    with pytest.raises(errors.DeviceAttestationError, match=f"^{Reason.UNTRUSTED_ROOT}:"):
        verify_android_attestation(
            chain, challenge=b"c" * 32, at=NOW, policy=AndroidPolicy(), status=None
        )


def test_leaf_signed_by_an_impostor_intermediate_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device = SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    chain = android.chain(
        device.key, Record(challenge), issuer_key=EcPrivateKey.generate(Curve.P256)
    )
    _refused(
        core, _body(device, Ed25519PrivateKey.generate(), challenge, chain=chain), Reason.CHAIN
    )


def test_expired_leaf_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    device = SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    chain = android.chain(device.key, Record(challenge), not_after=NOW - 1)
    _refused(
        core, _body(device, Ed25519PrivateKey.generate(), challenge, chain=chain), Reason.EXPIRED
    )


@pytest.mark.parametrize(
    "extension",
    [
        b"\x30\x03\x02\x01",  # truncated
        b"\x04\x03abc",  # not a SEQUENCE
        tlv(0x30, integer(3)),  # too few fields
        b"\x30\x81\x03\x02\x01\x03",  # non-minimal length
    ],
    ids=["truncated", "not-a-sequence", "too-few-fields", "non-minimal-length"],
)
def test_malformed_extension_is_refused(
    core: IssuerCore, android: SyntheticAndroid, extension: bytes
) -> None:
    device = SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    chain = android.chain(device.key, extension)
    _refused(
        core, _body(device, Ed25519PrivateKey.generate(), challenge, chain=chain), Reason.MALFORMED
    )


def test_repeated_patch_level_tag_is_refused_as_malformed(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    _attack(core, android, Reason.MALFORMED, extra_hw=explicit(706, integer(209912)))


def test_unknown_later_tag_is_read_past(core: IssuerCore, android: SyntheticAndroid) -> None:
    extra = explicit(799, tlv(0x30, tlv(0x04, b"future")))
    device = SyntheticDevice(android, record_changes={"extra_hw": extra})
    _enrol(core, device, Ed25519PrivateKey.generate())


def test_old_patch_level_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.PATCH_LEVEL, patch_level=202301)


def test_imported_key_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.ORIGIN, origin=int(KeyOrigin.IMPORTED))


def test_key_that_may_not_sign_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.PURPOSE, purposes=(0, 1))


def test_key_made_by_another_app_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    """Any app on a genuine phone can make attested keys; only ours may enrol."""
    _attack(core, android, Reason.APPLICATION, app=(("com.evil.farm",), (APP,)))


def test_key_made_by_a_resigned_copy_of_our_app_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    _attack(core, android, Reason.APPLICATION, app=(("com.example.privcloud",), (bytes(32),)))


def test_key_without_an_application_id_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    _attack(core, android, Reason.APPLICATION, app=None)


def test_old_attestation_version_is_refused(core: IssuerCore, android: SyntheticAndroid) -> None:
    _attack(core, android, Reason.VERSION, version=2)


def test_someone_elses_chain_without_its_hardware_key_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    victim, thief = SyntheticDevice(android), SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    body = _body(
        victim,
        Ed25519PrivateKey.generate(),
        challenge,
        chain=victim.attest(challenge),
        signer=thief,
    )
    _refused(core, body, Reason.KEY_PROOF)


# --- bounds ------------------------------------------------------------------------------------


def test_chain_longer_than_the_bound_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device = SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    chain = list(device.attest(challenge))
    long = chain[:1] + [chain[1]] * limits.MAX_ANDROID_ATTESTATION_CERTIFICATES + chain[2:]
    with pytest.raises(errors.TooLargeError):
        core.enrol(_body(device, Ed25519PrivateKey.generate(), challenge, chain=long))
    with pytest.raises(errors.DeviceAttestationError, match=f"^{Reason.TOO_LARGE}:"):
        verify_android_attestation(
            long, challenge=challenge, at=NOW, policy=android.policy(), status=None
        )


def test_chain_larger_than_the_bound_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    device = SyntheticDevice(android)
    challenge, _ = core.new_challenge()
    padding = explicit(724, tlv(0x04, bytes(limits.MAX_ANDROID_ATTESTATION_CHAIN_BYTES)))
    chain = android.chain(device.key, Record(challenge, extra_hw=padding))
    with pytest.raises(errors.TooLargeError):
        decode_enrolment_request(
            _body(device, Ed25519PrivateKey.generate(), challenge, chain=chain)
        )
    with pytest.raises(errors.DeviceAttestationError, match=f"^{Reason.TOO_LARGE}:"):
        verify_android_attestation(
            chain, challenge=challenge, at=NOW, policy=android.policy(), status=None
        )


# --- production defaults -----------------------------------------------------------------------


def test_operator_code_is_refused_by_production_defaults(tmp_path: Path) -> None:
    core = IssuerCore(
        Database.from_url(f"sqlite:///{tmp_path / 'p.sqlite3'}").issuer(), IssuerConfig()
    )
    assert IssuerConfig().insecure_operator_codes is False
    with pytest.raises(errors.PolicyError):
        core.enrol(encode_enrolment(Ed25519PrivateKey.generate(), core.new_enrolment_code()))


def test_operator_code_works_only_on_an_insecure_development_issuer(tmp_path: Path) -> None:
    core = IssuerCore(
        Database.from_url(f"sqlite:///{tmp_path / 'p.sqlite3'}").issuer(),
        IssuerConfig(insecure_operator_codes=True),
    )
    _, attested = core.enrol(
        encode_enrolment(Ed25519PrivateKey.generate(), core.new_enrolment_code())
    )
    assert attested is False


def test_attested_enrolment_without_a_status_list_is_refused(
    core: IssuerCore, android: SyntheticAndroid
) -> None:
    core.attestation_status = None
    challenge, _ = core.new_challenge()
    with pytest.raises(errors.UnavailableError):
        core.enrol(_body(SyntheticDevice(android), Ed25519PrivateKey.generate(), challenge))


# --- over HTTP, with the wallet ------------------------------------------------------------------


@pytest.fixture
async def served(tmp_path: Path, android: SyntheticAndroid) -> AsyncIterator[tuple[str, Issuer]]:
    issuer = Issuer(
        tmp_path / "issuer",
        IssuerConfig(quota=QUOTA, android_policy=android.policy()),
        clock=FixedClock(NOW),
    )
    issuer.core.attestation_status = NO_REVOCATIONS
    runner, port = await start_site(issuer.app(), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", issuer
    await runner.cleanup()


async def test_wallet_enrols_by_attestation_and_fetches_tokens(
    served: tuple[str, Issuer], android: SyntheticAndroid
) -> None:
    url, issuer = served
    device = SyntheticDevice(android)
    config = WalletConfig(batch_size=2, insecure_unlogged_keys=True)
    wallet = Wallet(url, config=config, attester=device, clock=FixedClock(NOW))
    try:
        await wallet.fetch()
        assert wallet.attested and len(wallet) == 2
        assert wallet.device_id == attested_device_id(
            verify_android_attestation(
                device.attest(b"z" * 32),
                challenge=b"z" * 32,
                at=NOW,
                policy=android.policy(),
                status=None,
            ).key.public_key_info()
        )
        assert issuer.metrics.counters["enrolments_attested"] == 1
    finally:
        await wallet.close()


async def test_restarted_attested_wallet_enrols_again_onto_the_same_quota(
    served: tuple[str, Issuer], android: SyntheticAndroid, tmp_path: Path
) -> None:
    url, issuer = served
    device, path = SyntheticDevice(android), tmp_path / "wallet.json"
    config = WalletConfig(batch_size=QUOTA, insecure_unlogged_keys=True)
    first = Wallet(url, config=config, attester=device, path=path, clock=FixedClock(NOW))
    try:
        await first.fetch()
    finally:
        await first.close()
    again = Wallet(url, config=config, attester=device, path=path, clock=FixedClock(NOW))
    try:
        assert not again.enrolled  # the attested id is not in the file
        await again.enrol()
        assert again.device_id == first.device_id
        with pytest.raises(errors.RateLimitedError):
            await again.fetch(1)  # the quota was spent before the restart
    finally:
        await again.close()
    assert issuer.metrics.counters["enrolments_attested"] == 2


async def test_refusal_reaches_the_device_with_its_reason_over_http(
    served: tuple[str, Issuer], android: SyntheticAndroid
) -> None:
    url, _ = served
    device = SyntheticDevice(android, record_changes={"locked": False})
    wallet = Wallet(url, attester=device, clock=FixedClock(NOW))
    try:
        with pytest.raises(errors.DeviceAttestationError, match=f"^{Reason.ROOT_OF_TRUST}:"):
            await wallet.enrol()
    finally:
        await wallet.close()


async def test_operator_code_over_http_is_refused_by_production_defaults(
    served: tuple[str, Issuer],
) -> None:
    url, issuer = served
    body = encode_enrolment(Ed25519PrivateKey.generate(), issuer.core.new_enrolment_code())
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url + "/v1/enrol", data=body, headers={"Content-Type": "application/json"}
        ) as response,
    ):
        assert response.status == 403
        assert (await response.json())["error"] == "policy"


# --- the device console -------------------------------------------------------------------------


def test_console_says_the_local_clouds_device_is_not_attested() -> None:
    """The development cloud has no phone: its device enrols with the INSECURE operator code,
    and the console's status says so (``device_attested`` false)."""
    import urllib.request

    from privcloud.device.agent import DeviceAgent
    from privcloud.device.thread import BackgroundAgent

    with BackgroundAgent(DeviceAgent(port=0)) as url:
        response = urllib.request.urlopen(url.rstrip("/") + "/api/status", timeout=60)
        with response:
            status = json.loads(response.read())
    assert status["device_attested"] is False and status["tokens"] > 0


def test_status_list_file_is_read_again_when_it_changes_and_a_bad_one_is_refused(
    tmp_path: Path, android: SyntheticAndroid
) -> None:
    issuer = Issuer(
        tmp_path / "issuer",
        IssuerConfig(quota=QUOTA, android_policy=android.policy()),
        clock=FixedClock(NOW),
    )
    try:
        path = tmp_path / "status.json"
        path.write_bytes(b'{"entries": {}}')
        issuer.attestation_status_path = path
        assert issuer.reload_attestation_status()
        assert not issuer.reload_attestation_status()  # unchanged: not read again
        revoked = {serial_key(android.intermediate.serial_number): {"status": "REVOKED"}}
        path.write_text(json.dumps({"entries": revoked}))
        assert issuer.reload_attestation_status()
        _attack(issuer.core, android, Reason.REVOKED)
        path.write_bytes(b'{"entries": [')  # a broken update: refused, the last list kept
        assert not issuer.reload_attestation_status()
        _attack(issuer.core, android, Reason.REVOKED)
    finally:
        issuer.core.store.close()
