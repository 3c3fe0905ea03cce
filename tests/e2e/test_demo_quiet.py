"""``privcloud.cli.quiet``: what libraries write while the demo runs is collected into one line.

Each test runs a small program in a fresh interpreter (file descriptor 2 is the process's own)
that writes the way the demo's libraries do: C code straight to descriptor 2 (llama.cpp, ggml),
a child process, a progress bar, a Python warning, log records.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import logging, os, subprocess, sys, warnings
    from privcloud.cli.runtime import configure_logging
    from privcloud.cli.quiet import collected_chatter

    configure_logging()
    with collected_chatter() as chatter:
        os.write(2, b"llama_kv_cache_iswa: using full-size SWA cache\\n")
        os.write(2, b"ggml_backend: CPU\\n")
        sys.stderr.write("Loading weights:   0%|          | 0/103 [00:00<?, ?it/s]\\r")
        sys.stderr.write("Loading weights: 100%|##########| 103/103 [00:00<00:00, 1.0it/s]\\n")
        subprocess.run([sys.executable, "-c", "import os; os.write(2, b'child says hi\\\\n')"])
        warnings.warn("a deprecated thing", DeprecationWarning, stacklevel=1)
        logging.getLogger("privcloud.attest").warning("INSECURE: simulated TEE")
        logging.getLogger("privcloud.attest").warning("INSECURE: simulated TEE again")
        logging.getLogger("transformers.modeling").warning("weights not initialised")
        {fail}
    print(chatter.summary())
    logging.getLogger("privcloud.after").warning("after the block: logged as before")
    """
)


def _run(fail: str = "pass") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", PROGRAM.replace("{fail}", fail)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_library_output_becomes_one_summary_line_and_nothing_reaches_stderr() -> None:
    run = _run()
    assert run.returncode == 0, run.stderr
    summary = run.stdout.strip()
    assert summary.startswith("kept quiet while it ran: ")
    for part in (
        "2 warnings logged by privcloud",
        "1 Python warning",
        "1 warning logged by transformers",
        "2 lines from llama.cpp/ggml",
        "1 other line on standard error",  # the child process's line
        "1 progress bar (Loading weights)",
    ):
        assert part in summary, summary
    # None of the messages is quoted in the summary, and none reached the real stderr…
    assert "SWA" not in summary and "INSECURE" not in summary and "child says" not in summary
    assert "SWA" not in run.stderr and "child says" not in run.stderr
    assert "INSECURE" not in run.stderr
    # …while the log works as before once the block is over.
    assert "after the block: logged as before" in run.stderr


def test_a_failure_shows_what_was_collected() -> None:
    run = _run(fail="raise RuntimeError('boom')")
    assert run.returncode != 0
    assert "llama_kv_cache_iswa" in run.stderr and "child says hi" in run.stderr
    assert "RuntimeError: boom" in run.stderr
