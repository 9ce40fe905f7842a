"""Checkpoints that survive a kill mid-write and restore a run bit for bit.

A checkpoint holds every network, every optimiser, the recipe's extra state, every RNG (Python,
NumPy, torch, CUDA, and the data stream's own generator) and the step. It is written to a temporary
file in the same folder and renamed over the old one, so the last good checkpoint is never
half-overwritten. ``save_rotating`` also keeps the checkpoint it replaces as ``previous.pt`` (a hard
link made before the rename), so one bad write is never the only copy. Loading uses
``weights_only=True``: a checkpoint cannot execute code; a file that cannot be read back raises
:class:`~gancourse.errors.CheckpointDamaged` naming it.
"""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .errors import CheckpointDamaged, MissingInput, UserError
from .files import TMP_SUFFIX, atomic_write


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    with atomic_write(path) as f:
        torch.save(state, f)
    return Path(path)


def _keep_as(path: Path, previous: Path) -> None:
    """Make ``previous`` a second name of ``path``'s current content, replacing it in one rename."""
    staged = previous.with_name(f".{previous.name}.link{TMP_SUFFIX}")
    if staged.exists():
        staged.unlink()
    try:
        os.link(path, staged)  # no copy, and ``path`` itself is never touched
    except OSError:  # a file system without hard links
        shutil.copy2(path, staged)
    os.replace(staged, previous)


def save_rotating(state: dict[str, Any], path: str | os.PathLike, previous: str | os.PathLike) -> Path:
    """Save ``state`` to ``path`` atomically, keeping the checkpoint it replaces as ``previous``.

    At every moment ``path`` is a complete checkpoint (the old one, then the new one), and once a second
    checkpoint has been written ``previous`` holds the one before it.
    """
    path, previous = Path(path), Path(previous)

    def keep_previous() -> None:
        if path.is_file():
            _keep_as(path, previous)

    with atomic_write(path, before_replace=keep_previous) as f:
        torch.save(state, f)
    return path


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a kill during a save left in ``folder`` (call it holding the run's lock)."""
    folder = Path(folder)
    stale = sorted(folder.glob(f".*{TMP_SUFFIX}")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _why_unreadable(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "it is empty or cut short"
    if isinstance(exc, pickle.UnpicklingError):
        detail = next((line.strip() for line in str(exc).splitlines() if "Unsupported" in line), "")
        return ("it is not a PyTorch checkpoint, or holds objects a weights_only load refuses"
                + (f" ({detail})" if detail else ""))
    if "central directory" in str(exc) or isinstance(exc, zipfile.BadZipFile):
        return "it is cut short (an incomplete write or copy)"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise CheckpointDamaged(f"{path} is damaged: {_why_unreadable(exc)}") from exc
    except OSError as exc:  # the zip reader refuses a cut file with EINVAL; other OSErrors are the disk's
        if exc.errno != errno.EINVAL:
            raise
        raise CheckpointDamaged(f"{path} is damaged: it is cut short or not a PyTorch file") from exc
    except RuntimeError as exc:  # PyTorch's reader of the zip container; other RuntimeErrors are not the file's
        if "PytorchStreamReader" not in str(exc) and "zip archive" not in str(exc):
            raise
        raise CheckpointDamaged(f"{path} is damaged: {_why_unreadable(exc)}") from exc
    if not isinstance(state, dict):
        raise CheckpointDamaged(f"{path} is damaged: it holds a {type(state).__name__}, not a checkpoint")
    return state


TRAINING_KEYS = ("recipe", "stream", "step", "elapsed")


def load_training_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                             ) -> dict[str, Any]:
    """A checkpoint ``fit`` wrote (``last.pt``/``previous.pt``), checked to hold what a resume needs."""
    state = load_checkpoint(path, map_location)
    missing = [key for key in TRAINING_KEYS if key not in state]
    if missing:
        what = " (it looks like an exported generator)" if "state_dict" in state else ""
        raise CheckpointDamaged(f"{path} is damaged: it is not a training checkpoint{what}; "
                                f"it lacks {', '.join(missing)}")
    return state


def export_generator(export: dict[str, Any], path: str | os.PathLike) -> Path:
    """Save a generator alone (``Recipe.generator_export()``): small, and enough to sample."""
    return save_checkpoint(export, path)


def generator_class(name: str, path: str | os.PathLike) -> type[nn.Module]:
    """The generator class an export names (its ``class``): a registered one, one of ``gancourse.models``, or a
    CycleGAN generator; ``path`` (the export's) names the file in the error for any other."""
    from . import models
    from .models import cyclegan  # not re-exported by models, and a fresh process may not have imported it

    cls = GENERATOR_CLASSES.get(name) or getattr(models, name, None) or cyclegan.GENERATORS_BY_CLASS.get(name)
    if cls is None:
        raise UserError(f"{path}: unknown generator class {name!r}")
    return cls


def _build_generator(entry: dict[str, Any], path: str | os.PathLike, device: str | torch.device) -> nn.Module:
    """The generator an export entry (``class``, ``config``, ``state_dict``) describes, in eval mode."""
    generator = generator_class(entry["class"], path)(**entry["config"])
    generator.load_state_dict(entry["state_dict"])
    return generator.to(device).eval()


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild an exported generator in eval mode, ready to sample."""
    export = load_checkpoint(path, map_location=device)
    if "class" not in export or "state_dict" not in export:
        raise CheckpointDamaged(f"{path} is damaged: it is not an exported generator")
    return _build_generator(export, path, device)


def load_translators(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Both generators of an exported CycleGAN (``checkpoints/generator.pt``) by direction, in eval mode."""
    export = load_checkpoint(path, map_location=device)
    if "reverse" not in export:
        raise ValueError(f"{path} is not a CycleGAN export (it holds a {export.get('recipe', '?')} generator)")
    return {entry["direction"]: _build_generator(entry, path, device) for entry in (export, export["reverse"])}


# Generator classes outside ``gancourse.models`` register here (e.g. the exercises' generators).
GENERATOR_CLASSES: dict[str, type[nn.Module]] = {}
