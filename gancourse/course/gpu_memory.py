"""Will the full profile fit on a student's GPU? The memory guard's estimate of each notebook's largest run.

Colab's free GPU is a 16 GB T4. For each numbered notebook, its largest training in the full profile
(recipe, config, batch size: its manifest entry's ``largest_full_run``), this estimates the memory one step needs with
:func:`gancourse.engine.memory.estimate`: in fp32, and with bf16 autocast (the recipes' ``amp``), where the
activations take half the bytes and the weights, gradients and Adam's moments stay fp32. CUDA's own context
comes on top. ``gancourse doctor --profile full`` prints the table; ``tests/course/test_full_profile.py``
checks that every run the full profile trains is covered by its notebook's row.
"""

from __future__ import annotations

from ..engine.memory import MemoryEstimate
from .notebooks import COURSE, LargestRun

T4_BYTES = 15 * 1024**3  # a 16 GB T4 shows about 15 GiB to PyTorch
CUDA_CONTEXT_BYTES = 512 * 1024**2  # the CUDA context and cuDNN's workspace, before any tensor
MARGIN = 0.75  # what a notebook may plan to use of the card: fragmentation and evaluation need the rest


def bytes_needed(run: MemoryEstimate, amp: bool) -> int:
    """One step's memory on a GPU: activations (halved by bf16 autocast), fp32 state and the CUDA context."""
    activations = run.per_image * run.batch_size // (2 if amp else 1)
    return activations + run.fixed + CUDA_CONTEXT_BYTES


# Each notebook's row is its manifest entry's ``largest_full_run``, read off the full-profile dry run
# (GANCOURSE_STEP_CAP): tests/course/test_full_profile.py fails when a run of a notebook needs more than its row.
LARGEST_FULL_RUN: dict[str, LargestRun] = {nb.name: nb.largest_full_run for nb in COURSE if nb.largest_full_run}


def gpu_memory_table(capacity: int = T4_BYTES) -> list[tuple[str, float, float, bool]]:
    """(notebook, GiB in fp32, GiB with bf16 autocast, fits with margin) for each notebook's largest run."""
    rows = []
    for notebook, run in LARGEST_FULL_RUN.items():
        step = run.estimate()
        fp32, amp = bytes_needed(step, amp=False), bytes_needed(step, amp=True)
        rows.append((notebook, fp32 / 1024**3, amp / 1024**3, fp32 <= MARGIN * capacity))
    return rows
