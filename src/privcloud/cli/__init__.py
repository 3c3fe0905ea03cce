"""The ``privcloud`` command line. Each command group lives in its own module and registers
its sub-commands; every handler gets the parsed arguments.

    privcloud demo                                          (privcloud.cli.demo)
    privcloud relay | gateway | node | call                 (privcloud.cli.cloud)
    privcloud cluster                                       (privcloud.cli.cluster)
    privcloud gateway-key [new | publish | list | retire]   (privcloud.cli.gateway_keys)
    privcloud sample-call                                   (privcloud.cli.samples)
    privcloud up | down | status                            (privcloud.cli.lifecycle)
    privcloud log [init | audit | append] | witness         (privcloud.cli.tlog, .tlog_audit)
    privcloud release build | publish | verify              (privcloud.cli.release)
    privcloud node verify                                   (privcloud.cli.node_verify)
    privcloud issuer [serve | new-code | revoke] | wallet   (privcloud.cli.tokens)
    privcloud transcribe | summarize | translate | search | imagine | extract
                                                            (privcloud.cli.features)
    privcloud console                                       (privcloud.cli.console)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from privcloud import limits
from privcloud.cli import (
    cloud,
    cluster,
    console,
    demo,
    features,
    gateway_keys,
    lifecycle,
    node_verify,
    release,
    samples,
    tlog,
    tokens,
)
from privcloud.cli.runtime import configure_logging
from privcloud.errors import ConfigError, PrivcloudError

#: Command-group modules; each has ``register(subparsers)``.
COMMAND_GROUPS = [
    demo,
    lifecycle,
    cloud,
    cluster,
    gateway_keys,
    features,
    samples,
    tlog,
    release,
    node_verify,
    tokens,
    console,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="privcloud", description="An open, verifiable private computing cloud."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument(
        "--log-file",
        help="write the log to this file instead of standard error (rotated at "
        f"{limits.MAX_LOG_FILE_BYTES // limits.KiB} KiB, {limits.MAX_LOG_FILE_BACKUPS} old "
        "files kept)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``privcloud`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        # Bounded and peer-safe: aiohttp's and asyncio's records reduced to their type, repeats
        # rate-limited, a log file rotated (privcloud.cli.runtime).
        configure_logging(verbose=args.verbose, log_file=args.log_file)
        result = args.handler(args)
    except ConfigError as exc:
        print(f"privcloud: configuration error: {exc}", file=sys.stderr)
        return 2
    except PrivcloudError as exc:
        print(f"privcloud: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
