"""Names the source rejects, for the summary guard (:mod:`privcloud.workloads.grounding`).

A sentence that sets two names against each other ("the meeting is in Berlin, *not Munich*",
"it was Anna who paid Martin, *not Ben*", "send it to Laura *rather than Tom*", "*Not Ben*, it
was Anna") puts both in the source, so a summary that keeps the wrong one ("The meeting is in
Munich", "Ben paid Martin") passes the fact and word checks, and the polarity check reads no
negation in it: a negator's scope leaves names out.

So a name is **rejected** when every mention of it in the source follows "not", "rather
than" or "instead of" (after at most one preposition or article: "not *in* Munich", "instead
of *the* Ritz"), and a summary sentence with no negator of its own that names it without
rejecting it or setting it against another ("picked the Hilton *over* the Ritz") fails. A
name the source also mentions in any other way ("Ben called this morning") is not rejected:
which mention a summary restates cannot be told. A summary sentence with a negator ("The
meeting is not in Munich") is left to the polarity check.
"""

from __future__ import annotations

import re

from privcloud.workloads.grounding_facts import extract_facts
from privcloud.workloads.text.negation import negated

__all__ = ["contrast_errors", "rejected"]

# What comes right before a rejected name, read over the characters before it.
_REJECTING_RE = re.compile(
    r"(?:\bnot|\brather\s+than|\binstead\s+of)\s+"
    r"(?:(?:the|to|in|at|on|from|with|by|for|of|a|an)\s+)?$",
    re.IGNORECASE,
)
# In the summary, a comparison sets the name against another as well: "picked the Hilton *over*
# the Ritz", "chose Gatwick *rather than* Heathrow", "Anna *versus* Ben".
_CONTRASTING_RE = re.compile(
    r"(?:\bnot|\brather\s+than|\binstead\s+of|\bover|\bthan|\bversus|\bvs\.?)\s+"
    r"(?:(?:the|to|in|at|on|from|with|by|for|of|a|an)\s+)?$",
    re.IGNORECASE,
)
# Enough characters before a mention for the longest rejecting phrase.
_LOOK_BACK = 32


def rejected(text: str, name: str, phrase: re.Pattern[str] = _REJECTING_RE) -> bool:
    """Whether ``text`` mentions ``name`` and every mention follows a rejecting ``phrase``."""
    mentions = list(re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE))
    return bool(mentions) and all(
        phrase.search(text[max(0, m.start() - _LOOK_BACK) : m.start()]) for m in mentions
    )


def contrast_errors(sentence: str, source: str) -> list[str]:
    """The names ``sentence`` states that ``source`` only rejects (see the module
    docstring)."""
    if negated(sentence):
        return []
    return [
        f"the source says not '{fact.text}'"
        for fact in extract_facts(sentence)
        if fact.kind == "name"
        and rejected(source, fact.text)
        and not rejected(sentence, fact.text, _CONTRASTING_RE)
    ]
