"""Device choice, seeding and mixed precision: the only place that knows about CUDA and MPS."""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch


def pick_device(preference: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; ``preference`` (or ``$GANCOURSE_DEVICE``) overrides.

    A preference this machine cannot honour (a typo, ``cuda`` without a GPU) is a
    :class:`~gancourse.errors.UserError` naming what it has, not an error from deep inside torch later.
    """
    preference = preference or os.environ.get("GANCOURSE_DEVICE") or "auto"
    if preference != "auto":
        return _available(preference)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    """The devices this machine can train on, e.g. ``["cpu", "cuda:0", "cuda:1"]``."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found += ["mps", "mps:0"]
    return found


def _available(preference: str) -> torch.device:
    from .errors import UserError

    have = ", ".join(["auto", *available_devices()])
    try:
        device = torch.device(preference)
    except (RuntimeError, ValueError, TypeError):
        raise UserError(f"unknown device {preference!r}; this machine has: {have}") from None
    if device.type == "cpu":
        return device
    if str(device) not in available_devices():
        raise UserError(f"device {preference!r} is not available on this machine (it has: {have}); "
                        "leave --device out (or set it to auto) to use the best one there is")
    return device


def seed_everything(seed: int) -> None:
    """Fix Python, NumPy and torch RNGs, and the cuDNN settings that would otherwise break repeatability.

    ``cudnn.benchmark=True`` picks convolution algorithms by timing them, so two runs with the same seed
    can take different numerical paths; we keep it off.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA only: bf16 needs no loss scaler, and CPU/MPS autocast costs more than it saves."""
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def rng_state() -> dict:
    """Every global RNG state a run depends on, as tensors and plain values (safe for weights_only loads)."""
    state = {
        "python": random.getstate(),  # (version, tuple of ints, gauss or None): plain types
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np_state = state["numpy"]
    np.random.set_state(
        (str(np_state["kind"]), np_state["keys"].numpy().astype(np.uint32), int(np_state["pos"]),
         int(np_state["has_gauss"]), float(np_state["cached_gaussian"]))
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        # a checkpoint from a machine with more GPUs: restore the ones this machine has
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)


def _numpy_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "kind": kind,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }
