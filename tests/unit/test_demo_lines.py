"""The demo's lines about the guard (``cli.demo.dropped_lines``): every sentence left out with
its reason, every edit of a kept sentence, nothing about a kept sentence left as written."""

from __future__ import annotations

from privcloud.cli.demo import dropped_lines


def test_dropped_and_edited_sentences_each_get_a_line() -> None:
    edit = "'her trip' written 'the trip': the source says 'your trip', the listener's"
    report = {
        "sentences": [
            {"text": "The flight is on Friday.", "kept": True, "grounded": True},
            {"text": "She calls about the trip.", "kept": True, "grounded": True, "edits": [edit]},
            {"text": "It costs 45 dollars.", "kept": False, "grounded": False,
             "reasons": ["number 45 not in source"]},
        ],
        "notes": [],
    }  # fmt: skip
    assert dropped_lines(report) == [
        f"edited {edit}",
        'dropped "It costs 45 dollars.": number 45 not in source',
    ]
