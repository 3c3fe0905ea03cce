"""Generate tests/vectors/privacypass_ts_headers.json: headers made by @cloudflare/privacypass-ts.

Provenance: real output of the npm package ``@cloudflare/privacypass-ts`` (the exact versions of
it, its dependencies and node are recorded in the JSON), produced by
``tests/vectors/privacypass_ts_headers.mjs`` and then frozen. The test suite never runs node;
``tests/vectors/test_privacypass_headers_interop.py`` reads the JSON.

Steps (run by hand, outside the repository's tree for anything npm fetches)::

    mkdir -p /tmp/ppts && cd /tmp/ppts
    cat > package.json <<'EOF'
    {"private": true, "type": "module",
     "dependencies": {"@cloudflare/privacypass-ts": "0.9.0"},
     "overrides": {"@cloudflare/blindrsa-ts": "0.4.4"}}
    EOF
    npm install
    cd /work/main && .venv/bin/python tests/vectors/make_privacypass_ts_vectors.py /tmp/ppts

(The override: 0.9.0 pins blindrsa-ts 0.4.5, which the registry reachable when these vectors were
made did not serve; 0.4.4 was the newest it had. Headers and TokenChallenge encoding live in
privacypass-ts itself and are the same in 0.8.1, which pins 0.4.3.)

1. ``node privacypass_ts_headers.mjs emit``: the library makes a 2048-bit type-0x0002 key pair,
   ``WWW-Authenticate`` headers (``toString()``, its default, unquoted; and ``toString(true)``,
   quoted) for challenges with and without a 32-byte redemption context, with and without
   ``max-age``, and one token through its own client and issuer, with the ``Authorization``
   header in both forms.
2. privcloud's encoders write the same challenges, all of them in one field, and the token.
3. ``node privacypass_ts_headers.mjs check``: the library parses privcloud's headers; what it read
   (or the error it threw) is recorded next to each header.

Keys, contexts and tokens are random, so a rerun gives other bytes: regenerate only on purpose
(a new library version), and keep the old file's provenance note in the commit message.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from privcloud.privacypass import (
    PrivateTokenChallenge,
    encode_authorization,
    encode_www_authenticate,
)

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "privacypass_ts_headers.mjs"
OUT = HERE / "privacypass_ts_headers.json"


def _node(scratch: Path, *args: str) -> Any:
    done = subprocess.run(
        ["node", SCRIPT.name, *args], cwd=scratch, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def main(scratch: Path) -> None:
    shutil.copyfile(SCRIPT, scratch / SCRIPT.name)
    library = _node(scratch, "emit")
    token_key = bytes.fromhex(library["token_key"])

    ours: list[dict[str, Any]] = []
    offered = []
    for index, item in enumerate(library["challenges"]):
        challenge = PrivateTokenChallenge(
            bytes.fromhex(item["challenge"]), token_key, item["max_age"]
        )
        offered.append(challenge)
        ours.append({"challenges": [index], "header": encode_www_authenticate(challenge)})
    ours.append(
        {"challenges": list(range(len(offered))), "header": encode_www_authenticate(offered)}
    )
    our_authorization = encode_authorization(bytes.fromhex(library["token"]["token"]))

    check_input = scratch / "privcloud_headers.json"
    check_input.write_text(
        json.dumps(
            {
                "www-authenticate": [o["header"] for o in ours],
                "authorization": [our_authorization],
                "token_key": library["token_key"],
            }
        )
    )
    checked = _node(scratch, "check", check_input.name)
    for entry, result in zip(ours, checked["www-authenticate"], strict=True):
        assert result["header"] == entry["header"]
        entry["library_read"] = result.get("parsed")
        entry["library_error"] = result.get("error")
    (auth_result,) = checked["authorization"]

    vectors = {
        "provenance": {
            "source": "npm package @cloudflare/privacypass-ts "
            "(https://github.com/cloudflare/privacypass-ts), run under node",
            "versions": library.pop("versions"),
            "npm_override": "@cloudflare/blindrsa-ts 0.4.4 instead of the pinned 0.4.5 "
            "(not served by the registry used)",
            "made": datetime.date.today().isoformat(),
            "how": "tests/vectors/make_privacypass_ts_vectors.py driving "
            "tests/vectors/privacypass_ts_headers.mjs (see the docstring there)",
            "note": "library output, frozen; keys, contexts and the token are random",
        },
        **library,
        "privcloud_emitted": {
            "www-authenticate": ours,
            "authorization": {
                "header": our_authorization,
                "library_read": auth_result.get("parsed"),
                "library_error": auth_result.get("error"),
            },
            "checked_with": checked["versions"],
        },
    }
    OUT.write_text(json.dumps(vectors, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
