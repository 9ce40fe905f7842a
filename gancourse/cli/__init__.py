"""``gancourse``: train, sample, evaluate, download and run the course without a notebook.

Each command lives in its own module with ``register(subparsers)`` and ``run(args) -> int``; a new
command is a new module named in ``COMMANDS`` with its one-line help. Only the command that runs is
imported (a command module imports what it needs at its top, torch included), so ``gancourse --help``
and every command's start stay quick.

A user's mistake (:class:`~gancourse.errors.UserError`, a dataset not found, a failed download, a full
or read-only disk) is one line on stderr and exit code 2; anything else is a bug and keeps its
traceback. ``--debug`` shows the traceback of user errors too.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from .. import __version__
from ..errors import DatasetNotFound, DownloadError, UserError

# command -> its line in `gancourse --help` (the module is loaded only when the command runs)
COMMANDS = {
    "train": "train a GAN into a run directory (run it again to resume)",
    "sample": "draw N images from a run's generator (or a shipped one, pretrained:NAME) into a .pt file",
    "eval": "compute a run's metrics and store them in its metrics.json",
    "download": "download a dataset (or the FID Inception weights, or all) into the data root",
    "course": "run every notebook (papermill) and write an index page",
    "doctor": "check the environment: torch, device, datasets, caches, disk",
    "sweep": "execute a notebook for every combination of a grid (papermill); rerun to resume",
    "collect": "tabulate a sweep: parameters x metrics x wall time, heat-map, contact sheet",
    "translate": "translate images with a trained CycleGAN run (e.g. photo -> Monet)",
    "export": "write a run's generator in half precision with its SHA-256 (how the course ships one)",
    "exercises": "list the checked exercises, or check them against the solutions",
}
# Errors shown as one clear line instead of a traceback: those a user can fix.
USER_ERRORS = (UserError, DatasetNotFound, DownloadError)

# An OSError with one of these is about the machine, not the package: the user can fix it.
MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def chosen_command(argv: list[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option), or None."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: the command it names with all its options, the others by name and help."""
    parser = argparse.ArgumentParser(prog="gancourse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gancourse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = chosen_command(sys.argv[1:] if argv is None else argv)
    for name, help_line in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"{__name__}.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def _one_line(command: str, message: object) -> int:
    print(f"gancourse {command}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"gancourse {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, USER_ERRORS):
            return _one_line(args.command, exc)
        if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:
            where = f" ({exc.filename})" if exc.filename else ""
            fix = "; free some space and run the same command again (a run resumes from its last checkpoint)" \
                if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "; choose a folder you can write to"
            return _one_line(args.command, f"{exc.strerror}{where}{fix}")
        raise


if __name__ == "__main__":
    sys.exit(main())
