"""``gancourse``: train, sample, evaluate, download and run the course without a notebook.

Each command lives in its own module with ``register(subparsers)`` and ``run(args) -> int``; a new
command is a new module named in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["train", "sample", "eval", "download", "course", "doctor", "sweep", "collect", "translate", "exercises"]

# Errors a user can fix: shown as one clear message instead of a traceback.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, KeyError, RuntimeError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gancourse", description=__doc__.splitlines()[0])
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"gancourse {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"gancourse {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"gancourse {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
