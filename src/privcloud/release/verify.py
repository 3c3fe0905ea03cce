"""Compare a release manifest recomputed here with one from the log, field by field (sans-IO).

The researcher's question is "does the software that was logged (and that a node attests to) equal
what I built from the published source?". :func:`compare` answers per field; :func:`require_same`
raises when any recomputable field differs. Hardware launch measurements cannot be recomputed
without the VM image build; they are reported as such, never as a match.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from privcloud.errors import VerificationError
from privcloud.trust.canonical import canonical_json
from privcloud.trust.release_manifest import ReleaseManifest, measurement_hex


class Outcome(enum.Enum):
    MATCH = "match"
    DIFFER = "DIFFER"
    NOT_RECOMPUTED = "not recomputed here"


@dataclass(frozen=True)
class FieldComparison:
    """One field: its name, the value recomputed here, the logged value, and the outcome."""

    name: str
    local: str
    logged: str
    outcome: Outcome

    def line(self) -> str:
        if self.outcome is Outcome.MATCH:
            return f"  {self.outcome.value:>19}  {self.name}: {self.logged}"
        return f"  {self.outcome.value:>19}  {self.name}: here {self.local} / logged {self.logged}"


def _cmp(name: str, local: str, logged: str) -> FieldComparison:
    return FieldComparison(
        name, local, logged, Outcome.MATCH if local == logged else Outcome.DIFFER
    )


def _short(values: set[str]) -> str:
    return ", ".join(sorted(values)) or "-"


def compare(local: ReleaseManifest, logged: ReleaseManifest) -> tuple[FieldComparison, ...]:
    """Each field of the two manifests, compared."""
    out = [
        _cmp(
            "package",
            f"{local.package_name} {local.package_version}",
            f"{logged.package_name} {logged.package_version}",
        ),
        _cmp(
            "code",
            f"{local.code_digest.hex()} ({local.code_files} files)",
            f"{logged.code_digest.hex()} ({logged.code_files} files)",
        ),
    ]
    here, there = set(local.dependencies), set(logged.dependencies)
    if here == there:
        out.append(_cmp("dependencies", f"{len(here)} locked", f"{len(there)} locked"))
    else:
        out.append(
            FieldComparison(
                "dependencies",
                f"only here: {_short(here - there)}",
                f"only logged: {_short(there - here)}",
                Outcome.DIFFER,
            )
        )
    models_here = {f"{m.path}={m.sha256.hex()[:16]}" for m in local.models}
    models_there = {f"{m.path}={m.sha256.hex()[:16]}" for m in logged.models}
    out.append(_cmp("models", _short(models_here), _short(models_there)))
    out.append(
        _cmp(
            "config",
            canonical_json(dict(local.config)).decode(),
            canonical_json(dict(logged.config)).decode(),
        )
    )
    for tee in sorted(set(local.measurements) | set(logged.measurements)):
        mine, theirs = local.measurements.get(tee), logged.measurements.get(tee)
        name = f"measurement[{tee}]"
        if mine is None and theirs is not None:
            out.append(
                FieldComparison(
                    name, "absent (needs the VM image build)", theirs.hex(), Outcome.NOT_RECOMPUTED
                )
            )
        else:
            out.append(_cmp(name, measurement_hex(mine), measurement_hex(theirs)))
    return tuple(out)


def require_same(comparisons: tuple[FieldComparison, ...]) -> None:
    """Raise :class:`VerificationError` if any field differs."""
    if any(c.outcome is Outcome.DIFFER for c in comparisons):
        raise VerificationError("the logged release differs from the one recomputed here")
