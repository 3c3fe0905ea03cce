"""Device attestation at enrolment: a phone proves its key lives in secure hardware.

Android hardware key attestation (:mod:`.android`, :mod:`.keydescription`, :mod:`.status`);
the issuer (:mod:`privcloud.services.issuer`) is a thin shell over it. A protocol package:
sans-IO, it imports only ``privcloud.crypto`` and below (docs/adr/0016).
"""

from privcloud.deviceattest.android import (
    AndroidAttestation,
    AndroidPolicy,
    Reason,
    attested_device_id,
    google_roots,
    verify_android_attestation,
)
from privcloud.deviceattest.status import AttestationStatusList, parse_status_list

__all__ = [
    "AndroidAttestation",
    "AndroidPolicy",
    "AttestationStatusList",
    "Reason",
    "attested_device_id",
    "google_roots",
    "parse_status_list",
    "verify_android_attestation",
]
