"""Benchmark of Android hardware key attestation at enrolment; prints one JSON line.

* ``verify_android_attestation`` on the real chains of ../shared/vectors/device-attestation
  (EC and RSA keys, TEE; up to the pinned Google RSA root, at 2019-10-01, a development policy
  since the samples come from unlocked devices);
* the KeyDescription parse alone (the real RSA TEE leaf's extension);
* a whole attested enrolment at the issuer (``IssuerCore.enrol``: challenge, synthetic chain of
  the production shape, key proof, SQLite store), a new device each time;
* baselines in the same run: one ECDSA P-256 verification and one RSA-2048 PKCS#1 v1.5
  verification (``Certificate.verify_signature``); every figure also as a ratio to them.

Run: .venv/bin/python bench/device_attestation.py [--rounds N]
"""

from __future__ import annotations

import argparse
import calendar
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from android_synthetic import NOW, SyntheticAndroid, SyntheticDevice  # noqa: E402
from privcloud.clock import FixedClock  # noqa: E402
from privcloud.crypto.signing import Ed25519PrivateKey  # noqa: E402
from privcloud.crypto.x509 import load_certificate  # noqa: E402
from privcloud.deviceattest import (  # noqa: E402
    AndroidPolicy,
    parse_status_list,
    verify_android_attestation,
)
from privcloud.deviceattest.keydescription import (  # noqa: E402
    KEY_DESCRIPTION_OID,
    parse_key_description,
)
from privcloud.privacypass.issuance import encode_attested_enrolment  # noqa: E402
from privcloud.services.issuer_core import IssuerConfig, IssuerCore  # noqa: E402
from privcloud.storage.issuer_store import IssuerStore  # noqa: E402

ANDROID = ROOT.parent / "shared" / "vectors" / "device-attestation" / "android"
AT = float(calendar.timegm((2019, 10, 1, 0, 0, 0)))


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    logging.getLogger("privcloud").setLevel(logging.ERROR)  # the dev policy's INSECURE warnings
    dev = AndroidPolicy(insecure_allow_unlocked=True, max_patch_age_months=None)

    def chain(name: str) -> list[bytes]:
        return [(ANDROID / name / f"cert{i}.der").read_bytes() for i in range(4)]

    ec_tee, rsa_tee = (
        chain("algorithm_EC_SecurityLevel_TEE"),
        chain("algorithm_RSA_SecurityLevel_TEE"),
    )
    ec_leaf, rsa_leaf = load_certificate(ec_tee[0]), load_certificate(rsa_tee[0])
    extension = rsa_leaf.extension(KEY_DESCRIPTION_OID) or b""
    # Baselines: one signature check by a certificate key (the real chain's own signatures).
    ec_int, rsa_int = load_certificate(ec_tee[1]), load_certificate(rsa_tee[1])
    ec_tbs_sig = (ec_leaf._cert.tbs_certificate_bytes, ec_leaf._cert.signature)
    rsa_tbs_sig = (rsa_leaf._cert.tbs_certificate_bytes, rsa_leaf._cert.signature)
    p256 = _median_ms(lambda: ec_int.verify_signature(ec_tbs_sig[1], ec_tbs_sig[0]), rounds)
    rsa2048 = _median_ms(lambda: rsa_int.verify_signature(rsa_tbs_sig[1], rsa_tbs_sig[0]), rounds)

    def verify(c: list[bytes]) -> Callable[[], object]:
        return lambda: verify_android_attestation(
            c, challenge=b"abc", at=AT, policy=dev, status=None
        )

    figures = {
        "verify_real_ec_tee_chain_ms": _median_ms(verify(ec_tee), rounds),
        "verify_real_rsa_tee_chain_ms": _median_ms(verify(rsa_tee), rounds),
        "parse_key_description_ms": _median_ms(lambda: parse_key_description(extension), rounds),
    }
    android = SyntheticAndroid()
    with tempfile.TemporaryDirectory() as tmp:
        core = IssuerCore(
            IssuerStore(Path(tmp) / "issuer.sqlite3"),
            IssuerConfig(android_policy=android.policy()),
            clock=FixedClock(NOW),
            attestation_status=parse_status_list(b'{"entries": {}}'),
        )
        bodies = []
        for _ in range(rounds + 1):
            device = SyntheticDevice(android)
            challenge, _ = core.new_challenge()
            bodies.append(
                encode_attested_enrolment(
                    Ed25519PrivateKey.generate(), challenge, device.attest(challenge), device.sign
                )
            )
        pending = iter(bodies)
        figures["issuer_attested_enrolment_ms"] = _median_ms(
            lambda: core.enrol(next(pending)), rounds
        )
        core.store.close()
    out: dict[str, object] = {"bench": "device_attestation", "rounds": rounds}
    out.update({k: round(v, 4) for k, v in figures.items()})
    out["baseline_p256_verify_ms"] = round(p256, 4)
    out["baseline_rsa2048_verify_ms"] = round(rsa2048, 4)
    out["ratios_to_p256_verify"] = {k: round(v / p256, 1) for k, v in figures.items()}
    out["ratios_to_rsa2048_verify"] = {k: round(v / rsa2048, 1) for k, v in figures.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
