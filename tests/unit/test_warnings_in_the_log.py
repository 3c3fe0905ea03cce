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


@pytest.mark.parametrize(
    "name",
    [
        "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_inpaint",
        "transformers.tokenization_utils_base",
        "diffusers",
    ],
)
def test_a_model_library_record_quoting_a_prompt_is_withheld(name: str) -> None:
    """diffusers quotes the part of a prompt CLIP cut, on loggers below its own; once their
    records reach the node's handlers (model_loaders.route_library_logs) they are withheld."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(BoundedFormatter(LOG_FORMAT))
    handler.addFilter(WithholdPeerData())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        logger.error(
            "The following part of your input was truncated because CLIP can only handle "
            "sequences up to %d tokens: %s",
            77,
            ["my diagnosis is CANARY-hiv"],
        )
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert name in text and "withheld" in text
    assert "CANARY" not in text and "truncated" not in text


def test_the_model_libraries_that_quote_a_prompt_are_peer_data_loggers() -> None:
    from privcloud.workloads.model_loaders import PROMPT_LOGGERS

    assert set(PROMPT_LOGGERS) <= set(PEER_DATA_LOGGERS)


def test_a_pipeline_call_ending_does_not_unquiet_another_still_running() -> None:
    """An image and an erase at once, on two threads: the first to end must not put back the
    level it found while the other still runs (each saving and restoring the levels itself,
    the first restored a lowered level under the second's prompt)."""
    from privcloud.workloads.model_loaders import prompt_loggers_quiet

    diffusers = logging.getLogger("diffusers")
    before = diffusers.level
    diffusers.setLevel(logging.WARNING)  # lowered, by whatever reason
    try:
        first, second = prompt_loggers_quiet(), prompt_loggers_quiet()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert not diffusers.isEnabledFor(logging.WARNING)  # the second call still runs
        second.__exit__(None, None, None)
        assert diffusers.level == logging.WARNING  # put back by the last to end
    finally:
        diffusers.setLevel(before)
