"""Checkpoints that survive a kill mid-write, prove they are intact, and restore a run bit for bit.

A checkpoint holds every network, every optimiser, the recipe's extra state, every RNG (Python,
NumPy, torch, CUDA, and the data stream's own generator) and the step. It is written to a temporary
file in the same folder and renamed over the old one, so the last good checkpoint is never
half-overwritten. ``save_rotating`` also keeps the checkpoint it replaces as ``previous.pt`` (a hard
link made before the rename), so one bad write is never the only copy.

Beside the state the file holds a SHA-256 of it (every tensor's bytes, dtype and shape, every other
value and the structure holding them: :func:`state_digest`), so bytes changed on disk after the save are
found on load, not trained on. Loading uses ``weights_only=True`` (a checkpoint cannot execute code),
checks the digest and that every floating tensor is finite; a file that fails any of this raises
:class:`~gancourse.errors.CheckpointDamaged` naming it. A checkpoint written before digests existed
(the state alone) still loads, checked for finiteness only.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from . import models
from .errors import CheckpointDamaged, MissingInput, UserError
from .files import TMP_SUFFIX, atomic_write
from .models import cyclegan  # its generators are not re-exported by models, and exports name them

FORMAT = "gancourse-checkpoint/2"  # {"format": FORMAT, "sha256": state_digest(state), "state": state}


def state_digest(state: Any) -> str:
    """A SHA-256 of ``state``: its structure, every tensor's dtype, shape and bytes, every other value's repr.

    Hashing the values rather than the file's bytes costs no second copy of the checkpoint in memory.
    """
    digest = hashlib.sha256()

    def feed(tag: str, text: str = "") -> None:
        data = f"{tag}{text}".encode()
        digest.update(len(data).to_bytes(8, "little") + data)  # length-prefixed: no two states feed alike

    def visit(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            flat = value.detach().to("cpu").contiguous().reshape(-1)
            feed("tensor", f"{flat.dtype}{tuple(value.shape)}")
            digest.update(memoryview(flat.view(torch.uint8).numpy()))
        elif isinstance(value, dict):
            feed("dict", str(len(value)))
            for key, item in value.items():
                visit(key)
                visit(item)
        elif isinstance(value, (list, tuple)):
            feed(type(value).__name__, str(len(value)))
            for item in value:
                visit(item)
        else:
            feed(type(value).__name__, repr(value))

    visit(state)
    return digest.hexdigest()


def _sealed(state: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "sha256": state_digest(state), "state": state}


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    with atomic_write(path) as f:
        torch.save(_sealed(state), f)
    return Path(path)


def _keep_as(path: Path, previous: Path) -> None:
    """Make ``previous`` a second name of ``path``'s current content, replacing it in one rename."""
    staged = previous.with_name(f".{previous.name}.link{TMP_SUFFIX}")
    staged.unlink(missing_ok=True)
    try:
        try:
            os.link(path, staged)  # no copy, and ``path`` itself is never touched
        except OSError:  # a file system without hard links
            shutil.copy2(path, staged)
        os.replace(staged, previous)
    finally:
        staged.unlink(missing_ok=True)  # a copy cut short by a full disk


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
        torch.save(_sealed(state), f)
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
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"it cannot be read back ({type(exc).__name__}{f': {text}' if text else ''})"


def _tensors(value: Any, where: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{where}[{i}]")


def _finite(t: torch.Tensor) -> bool:
    if not (t.is_floating_point() or t.is_complex()) or t.numel() == 0:
        return True
    if t.is_complex():
        return bool(torch.isfinite(t).all())
    low, high = torch.aminmax(t.detach())  # NaN propagates to both; much faster than isfinite().all()
    return bool(torch.isfinite(low) and torch.isfinite(high))


def _non_finite(state: dict[str, Any]) -> str:
    """The name of the first floating tensor of ``state`` holding NaN or inf ("" when there is none)."""
    return next((where for where, t in _tensors(state) if not _finite(t)), "")


def _read(path: Path) -> Any:
    """``torch.load`` of ``path`` onto the CPU; whatever fails there is the file's bytes, said as damage."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except OSError as exc:  # the zip reader refuses a cut file with EINVAL; other OSErrors are the disk's
        if exc.errno != errno.EINVAL:
            raise
        raise CheckpointDamaged(f"{path} is damaged: it is cut short or not a PyTorch file") from exc
    except Exception as exc:  # on the CPU, a failure of torch's reader or the unpickler is about the bytes
        raise CheckpointDamaged(f"{path} is damaged: {_why_unreadable(exc)}") from exc


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The state saved in ``path``, checked intact (digest, finite tensors), its tensors on ``map_location``."""
    path = Path(path)
    if not os.path.lexists(path):
        raise MissingInput(f"no checkpoint at {path}")
    if not path.is_file():
        what = "a directory" if path.is_dir() else "not a regular file"
        raise CheckpointDamaged(f"{path} is damaged: it is {what}, not a checkpoint")
    loaded = _read(path)
    if isinstance(loaded, dict) and ("format" in loaded or "sha256" in loaded):
        if loaded.get("format") != FORMAT or "state" not in loaded:
            raise CheckpointDamaged(f"{path} is damaged: its format ({str(loaded.get('format'))[:40]!r}) is not "
                                    f"{FORMAT!r}")
        state = loaded["state"]
        if loaded.get("sha256") != state_digest(state):
            raise CheckpointDamaged(f"{path} is damaged: its content does not match the SHA-256 saved with it "
                                    "(bytes changed on disk after it was written)")
    else:
        state = loaded  # saved before checkpoints carried a digest
    if not isinstance(state, dict):
        raise CheckpointDamaged(f"{path} is damaged: it holds a {type(state).__name__}, not a checkpoint")
    bad = _non_finite(state)
    if bad:
        raise CheckpointDamaged(f"{path} is damaged or from a run that diverged: {bad} holds NaN or infinite "
                                "values")
    device = torch.device(map_location)
    return state if device.type == "cpu" else _to_device(state, device)


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: _to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(item, device) for item in value)
    return value


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
    cls = GENERATOR_CLASSES.get(name) or getattr(models, name, None) or cyclegan.GENERATORS_BY_CLASS.get(name)
    if cls is None:
        raise UserError(f"{path}: unknown generator class {name!r}")
    return cls


def _build_generator(entry: dict[str, Any], path: str | os.PathLike, device: str | torch.device) -> nn.Module:
    """The generator an export entry (``class``, ``config``, ``state_dict``) describes, in eval mode."""
    generator = generator_class(entry["class"], path)(**entry["config"])
    generator.load_state_dict(entry["state_dict"])
    return generator.to(device).eval()


def generator_from_export(export: dict[str, Any], path: str | os.PathLike,
                          device: str | torch.device = "cpu") -> nn.Module:
    """The generator an export (loaded from ``path``) holds, in eval mode, ready to sample."""
    if "class" not in export or "state_dict" not in export:
        raise CheckpointDamaged(f"{path} is damaged: it is not an exported generator")
    return _build_generator(export, path, device)


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild an exported generator in eval mode, ready to sample."""
    return generator_from_export(load_checkpoint(path, map_location=device), path, device)


def translators_from_export(export: dict[str, Any], path: str | os.PathLike,
                            device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Both generators of an exported CycleGAN (loaded from ``path``) by direction, in eval mode."""
    if "reverse" not in export:
        raise ValueError(f"{path} is not a CycleGAN export (it holds a {export.get('recipe', '?')} generator)")
    return {entry["direction"]: _build_generator(entry, path, device) for entry in generator_entries(export)}


def generator_entries(export: dict[str, Any]) -> list[dict[str, Any]]:
    """The generators of an export (``class``, ``config``, ``state_dict``): one, or a CycleGAN's two, the second
    under ``reverse``."""
    return [export, export["reverse"]] if "reverse" in export else [export]


def load_translators(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, nn.Module]:
    """Both generators of an exported CycleGAN (``checkpoints/generator.pt``) by direction, in eval mode."""
    return translators_from_export(load_checkpoint(path, map_location=device), path, device)


# Generator classes outside ``gancourse.models`` register here (e.g. the exercises' generators).
GENERATOR_CLASSES: dict[str, type[nn.Module]] = {}
