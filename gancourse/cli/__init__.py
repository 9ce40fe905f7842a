"""``gancourse``: train, sample, evaluate, download and run the course without a notebook.

Each command lives in its own module with ``register(subparsers)`` and ``run(args) -> int``; a new
command is a new module named in ``COMMANDS``.

A user's mistake (:class:`~gancourse.errors.UserError`, a dataset not found, a failed download, a full
or read-only disk) is one line on stderr and exit code 2; anything else is a bug and keeps its
traceback. ``--debug`` shows the traceback of user errors too.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

COMMANDS = ["train", "sample", "eval", "download", "course", "doctor", "sweep", "collect", "translate", "exercises"]

# An OSError with one of these is about the machine, not the package: the user can fix it.
MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors shown as one clear line instead of a traceback: those a user can fix."""
    from ..data import DatasetNotFound, DownloadError
    from ..errors import UserError

    return UserError, DatasetNotFound, DownloadError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gancourse", description=__doc__.splitlines()[0])
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"gancourse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _one_line(command: str, message: object) -> int:
    print(f"gancourse {command}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"gancourse {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, user_errors()):
            return _one_line(args.command, exc)
        if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:
            where = f" ({exc.filename})" if exc.filename else ""
            fix = "; free some space and run the same command again (a run resumes from its last checkpoint)" \
                if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "; choose a folder you can write to"
            return _one_line(args.command, f"{exc.strerror}{where}{fix}")
        raise


if __name__ == "__main__":
    sys.exit(main())
