"""Which languages a live call may name: checked by the device before its call opens, and by
the node before it starts the call's pipeline (docs/adr/0023-live-sessions.md).

A node that cannot serve a call's languages refuses the opening, and its refusal travels to
the gateway in the clear (a close code and our error code) after the node read the languages
from the sealed hello: a device asking for a pair the release does not translate (English and
Swahili, say) showed the gateway, and its log, that much of its call (a red-team review,
2026-12-07). So the device checks the release's rule first, and an honest one never sends such a
hello. The rule is the release's, the same on every device and node: each language a code
Whisper knows (a spoken one may be ``auto``), and each pair read and written by one of the
release's live translation models (:data:`~privcloud.workloads.models.LIVE_TRANSLATION`).
A node may still refuse a pair the rule allows when its operator left the model that reads it
out; that is the operator's choice, the same for every device.
"""

from __future__ import annotations

from collections.abc import Sequence

from privcloud.errors import DecodeError, UnsupportedError
from privcloud.workloads.models import LIVE_TRANSLATION
from privcloud.workloads.transcribe import AUTO, WHISPER_LANGUAGES
from privcloud.workloads.translate_prompts import can_translate

#: The release's live translation models, each once.
_MODELS = tuple(dict.fromkeys(m for order in LIVE_TRANSLATION.values() for m in order))


def check_language(value: str, *, auto: bool) -> None:
    """Raises :class:`DecodeError` unless ``value`` is a code Whisper knows (or, with
    ``auto``, ``auto``: detect it from the first words)."""
    if value == AUTO and auto:
        return
    if value not in WHISPER_LANGUAGES:
        raise DecodeError("not a language Whisper knows")


def check_call_languages(languages: Sequence[str], targets: Sequence[str]) -> None:
    """The rule above for a call's channels: ``languages[c]`` is what channel ``c`` speaks,
    ``targets[c]`` what it is translated into. Raises :class:`DecodeError` for an unknown code
    or a call of other than two channels, :class:`UnsupportedError` for a pair no live
    translation model of the release translates (with ``auto``, any: such a pair then yields
    captions only)."""
    if len(languages) != 2 or len(targets) != 2:
        raise DecodeError("a call has two channels")
    for language, target in zip(languages, targets, strict=True):
        check_language(language, auto=True)
        check_language(target, auto=False)
        if language != AUTO and not any(can_translate(m, language, target) for m in _MODELS):
            raise UnsupportedError("this language pair cannot be translated")


__all__ = ["check_call_languages", "check_language"]
