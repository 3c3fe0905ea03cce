"""Python warnings reach the node's log (``configure_logging`` captures them on the
``py.warnings`` logger), and a library's warning can quote what a request made it read: PIL's
"Image size (90000000 pixels) exceeds limit", an EXIF tag's entry count (red-team review,
2026-12-04). Their records are withheld like those of aiohttp and asyncio."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator

import pytest

from privcloud.cli.runtime import LOG_FORMAT, BoundedFormatter
from privcloud.services.http import PEER_DATA_LOGGERS
from privcloud.services.site import WithholdPeerData


@pytest.fixture
def node_log() -> Iterator[io.StringIO]:
    """What the node's log handler writes (its formatter and filter, as configure_logging
    sets them), with Python warnings captured."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(BoundedFormatter(LOG_FORMAT))
    handler.addFilter(WithholdPeerData())
    logger = logging.getLogger("py.warnings")
    logger.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield out
    finally:
        logging.captureWarnings(False)
        logger.removeHandler(handler)


def test_a_warning_quoting_request_data_is_withheld_from_the_log(node_log: io.StringIO) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(
            "Image size (CANARY-90000000 pixels) exceeds limit", UserWarning, stacklevel=1
        )
    text = node_log.getvalue()
    assert "py.warnings" in text and "withheld" in text  # the operator still sees one came
    assert "CANARY" not in text and "Image size" not in text
    assert "py.warnings" in PEER_DATA_LOGGERS  # withheld by site.withhold_peer_data() too
