"""The error type for a user's mistake: its message says what went wrong and how to fix it.

The CLI shows a :class:`UserError` as one line (exit code 2) and keeps the traceback of every other
exception, which is then a bug worth reporting (``gancourse --debug ...`` shows the traceback of a
UserError too). It subclasses ``ValueError`` so that code catching ``ValueError`` keeps working.
"""

from __future__ import annotations


class UserError(ValueError):
    """A mistake the user can fix (a bad option, a damaged file, a busy run directory); the message says how."""


class UnknownOption(UserError, TypeError):
    """An option name that does not exist (a ``TypeError`` too, as an unknown keyword argument is)."""


class MissingInput(UserError, FileNotFoundError):
    """A file or folder the user named is not there (or does not hold what it should)."""


class NotARunDirectory(MissingInput):
    """A path given as a run directory holds no run (no config.json)."""


class CheckpointDamaged(UserError):
    """A checkpoint file that cannot be read back (cut short, overwritten, not a checkpoint)."""


class RunDirectoryBusy(UserError, RuntimeError):
    """Another process is training into the same run directory."""


class LaunchError(UserError, RuntimeError):
    """The process was started in a way that cannot do what was asked (``--distributed`` outside torchrun)."""


class TrainingDiverged(UserError):
    """A loss or a weight became NaN or infinite; the last good checkpoint was kept."""


class NotEnoughMemory(UserError):
    """A configuration whose estimated memory exceeds what the machine has free."""


class DiskFull(UserError, OSError):
    """A write that ran out of disk space (or quota); the file it was replacing is left as it was."""


class LockUnavailable(UserError):
    """A lock file that cannot be used: a symbolic link, not a regular file, or a file system without locks."""


# The two below are user errors too (the CLI shows them as one line) but keep the base classes callers
# catch them by; they live here so that the CLI can name them without loading the data package.
class DatasetNotFound(FileNotFoundError):
    """The dataset is neither under the data root nor downloadable; the message says what to do."""


class DownloadError(RuntimeError):
    """No mirror delivered a file (network down, 404, cut-off transfer, or a checksum mismatch)."""
