"""Device choice, CPU threads, seeding and mixed precision: the only place that knows about CUDA and MPS."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .cpu_threads import ThreadGovernor, ThreadSetting, parse_threads, usable_cores, wait_policy_set_in_time
from .errors import UserError

log = logging.getLogger(__name__)


def pick_device(preference: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; ``preference`` (or ``$GANCOURSE_DEVICE``) overrides.

    A preference this machine cannot honour (a typo, ``cuda`` without a GPU) is a
    :class:`~gancourse.errors.UserError` naming what it has, not an error from deep inside torch later.
    """
    configure_cpu_threads()  # before the first heavy work, also when the work then goes to a GPU
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


_threads: dict[str, object] = {}  # this process's setting (once configured) and governor


def configure_cpu_threads(setting: ThreadSetting | None = None) -> ThreadSetting:
    """Apply ``GANCOURSE_THREADS`` (or ``setting``) to torch, once per process (later calls return the setting).

    ``auto`` and ``adaptive`` only ever lower torch's thread count to the usable cores (a quota torch does not
    see), so a caller that pinned fewer keeps them; a number is applied as asked. The wait policy can only
    be chosen before torch loads (``gancourse/__init__``); asked for too late, it is said in a debug log.
    """
    if "setting" in _threads and setting is None:
        return _threads["setting"]  # type: ignore[return-value]
    setting = setting or parse_threads()
    if setting.mode == "fixed":
        torch.set_num_threads(setting.threads)
    elif torch.get_num_threads() > usable_cores():
        torch.set_num_threads(usable_cores())
    if setting.passive and not wait_policy_set_in_time():
        log.debug("passive OpenMP waiting was asked for after torch loaded: the runtime keeps its own policy; "
                  "import gancourse before torch, or set OMP_WAIT_POLICY=PASSIVE in the environment")
    _threads.clear()
    _threads["setting"] = setting
    return setting


def govern_threads() -> int | None:
    """The training loop's hook (before each step): under ``GANCOURSE_THREADS=adaptive``, fit torch's threads to the
    cores other processes leave free (:class:`~gancourse.cpu_threads.ThreadGovernor`); the new count if it
    changed. Nothing under any other setting, and nothing off Linux (no /proc/stat)."""
    governor = _governor()  # made with its first reading, so the first tick waits out its interval
    return _said_once(governor.tick()) if governor is not None else None


def settle_threads(work: Callable[[], object], seconds: float = 0.3) -> None:
    """Run ``work`` (a training step) for at least ``seconds`` and let adaptive threads decide on the load seen
    meanwhile, so that steps timed right after it run at the thread count training will use (a step-rate
    probe on a busy machine would otherwise time two threads fighting a neighbour for one core)."""
    governor = _governor()
    if governor is None:
        work()
        return
    governor.restart()
    end = time.monotonic() + seconds
    work()
    while time.monotonic() < end:
        work()
    _said_once(governor.tick(interval=0.0))


def _governor() -> ThreadGovernor | None:
    """This process's governor under ``GANCOURSE_THREADS=adaptive`` on Linux (made on first use), else None."""
    setting = configure_cpu_threads()
    if "governed" not in _threads:  # decided once per configuration: the training loop asks before every step
        _threads["governed"] = setting.mode == "adaptive" and Path("/proc/stat").is_file()
    if not _threads["governed"]:
        return None
    if "governor" not in _threads:
        _threads["governor"] = ThreadGovernor(torch.get_num_threads(), torch.set_num_threads, torch.get_num_threads)
    return _threads["governor"]  # type: ignore[return-value]


def _said_once(threads: int | None) -> int | None:
    """``threads``, after saying once per process why training gave a core up."""
    governor: ThreadGovernor = _threads["governor"]  # type: ignore[assignment]
    if threads is not None and threads < governor.ceiling and not _threads.get("said"):
        _threads["said"] = True  # once per process: the reason a run slowed down, and how to keep it exact
        print(f"[gancourse] another program keeps a CPU core busy: training on {threads} thread(s) until it frees "
              "the core (results then differ in the last digits; GANCOURSE_THREADS=auto keeps the thread count "
              "fixed)", file=sys.stderr)
    return threads


def cpu_bf16_supported(flags: set[str] | None = None) -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX): elsewhere CPU autocast to bf16 is
    emulated and slower than fp32. ``flags``: the CPU's flags (default: /proc/cpuinfo, else torch's reading)."""
    if flags is None:
        flags = _cpu_flags()
    if flags:
        return bool(flags & {"avx512_bf16", "amx_bf16"})
    return "AMX" in torch.backends.cpu.get_cpu_capability()


@functools.cache  # autocast asks at every step
def _cpu_flags() -> set[str]:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_bf16_enabled() -> bool:
    """bfloat16 autocast on the CPU, for the recipes measured faster and no worse with it (``Recipe.cpu_bf16``):
    on where the CPU computes bfloat16 natively (:func:`cpu_bf16_supported`); ``GANCOURSE_CPU_BF16=0`` keeps fp32."""
    asked = os.environ.get("GANCOURSE_CPU_BF16", "1")
    if asked not in ("0", "1"):
        raise UserError(f"GANCOURSE_CPU_BF16={asked!r}: use 1 (bfloat16 autocast where the CPU supports it, the "
                        "default) or 0 (fp32)")
    return asked == "1" and cpu_bf16_supported()


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


def autocast(device: torch.device, enabled: bool = True, cpu: bool = True) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA (bf16 needs no loss scaler) and, with ``cpu``, on CPUs that compute it natively
    (:func:`cpu_bf16_enabled`); never on MPS, where it costs more than it saves."""
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if enabled and cpu and device.type == "cpu" and cpu_bf16_enabled():
        return torch.autocast("cpu", dtype=torch.bfloat16)
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
