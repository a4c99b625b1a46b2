"""The ``rdpprobe`` command line: the only place that sets up logging and terminal output."""

from __future__ import annotations

import argparse
import sys

from rdpprobe import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rdpprobe",
        description="Walk an RDP server through the connection sequence and say where and why it fails.",
    )
    parser.add_argument("--version", action="version", version=f"rdpprobe {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
