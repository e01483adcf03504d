"""The ``kmssim`` command (also ``python -m kmssim``): serve a simulator over HTTP, and move
its clock from a shell.

::

    kmssim serve --port 4599 --scenario workshop.json --save-on-exit
    export AWS_ENDPOINT_URL=http://127.0.0.1:4599 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x
    aws kms create-key
    kmssim advance --days 365      # finds the endpoint in AWS_ENDPOINT_URL
    kmssim now

``advance`` and ``now`` call the endpoint's ``KmsSim.Advance`` / ``KmsSim.Now``
operations (see `kmssim.aws.protocol`) and print JSON as the AWS CLI does.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from kmssim.aws.protocol import CONTENT_TYPE, SIMULATOR_PREFIX
from kmssim.aws.server import DEFAULT_PORT, environment_endpoint, run

_TIME_FIELDS = ("Now", "NextEventTime", "EventTime")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kmssim",
                                     description="kmssim: a teaching simulator of AWS KMS.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a simulator to the AWS CLI and SDKs")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a non-loopback --host (the endpoint has no authentication)")
    serve.add_argument("--scenario", metavar="FILE",
                       help="load this saved scenario on start, if it exists")
    serve.add_argument("--save-on-exit", action="store_true",
                       help="save the scenario to --scenario FILE on SIGINT/SIGTERM")
    serve.add_argument("--seed", help="seed for a new simulator (same ids and keys every run)")
    serve.add_argument("--region", default="us-east-1", help="Region of a new simulator")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")

    for name, text in (("advance", "move the served simulator's clock forward"),
                       ("now", "print the served simulator's time")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--endpoint-url",
                         help="the endpoint (default: $AWS_ENDPOINT_URL_KMS, $AWS_ENDPOINT_URL "
                              f"or http://127.0.0.1:{DEFAULT_PORT})")
        if name == "advance":
            for unit in ("weeks", "days", "hours", "minutes", "seconds"):
                sub.add_argument(f"--{unit}", type=float, default=None)

    args = parser.parse_args(argv)
    if args.command == "serve":
        return run(host=args.host, port=args.port, scenario=args.scenario, seed=args.seed,
                   region=args.region, save_on_exit=args.save_on_exit,
                   allow_remote=args.allow_remote, verbose=args.verbose)
    request: dict[str, float] = {}
    if args.command == "advance":
        request = {unit.capitalize(): getattr(args, unit)
                   for unit in ("weeks", "days", "hours", "minutes", "seconds")
                   if getattr(args, unit) is not None}
        if not request:
            parser.error("advance needs a step, e.g. --days 30")
    return _call(args.endpoint_url or environment_endpoint(),
                 "Advance" if args.command == "advance" else "Now", request)


def _call(endpoint: str, operation: str, request: dict[str, Any]) -> int:
    data = json.dumps(request).encode()
    http = urllib.request.Request(endpoint, data=data, method="POST", headers={
        "Content-Type": CONTENT_TYPE, "X-Amz-Target": f"{SIMULATOR_PREFIX}.{operation}"})
    try:
        with urllib.request.urlopen(http, timeout=30) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        try:
            fault = json.loads(error.read())
            code, message = fault["__type"], fault["message"]
        except (ValueError, KeyError, TypeError):
            code, message = f"HTTP {error.code}", str(error.reason)
        print(f"\nAn error occurred ({code}) when calling the {operation} operation: {message}",
              file=sys.stderr)
        return 254
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f'\nCould not connect to the endpoint URL: "{endpoint}" ({error})', file=sys.stderr)
        return 255
    print(json.dumps(_iso_times(body), indent=4))
    return 0


def _iso_times(value: Any) -> Any:
    """Epoch seconds in the known time fields as ISO 8601, as AWS CLI v2 prints times."""
    if isinstance(value, list):
        return [_iso_times(item) for item in value]
    if isinstance(value, dict):
        return {key: datetime.fromtimestamp(item, UTC).isoformat()
                if key in _TIME_FIELDS and isinstance(item, (int, float)) else _iso_times(item)
                for key, item in value.items()}
    return value


if __name__ == "__main__":
    sys.exit(main())
