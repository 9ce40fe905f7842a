"""Will the full profile fit on a student's GPU? The memory guard's estimate of each notebook's largest run.

Colab's free GPU is a 16 GB T4. For each numbered notebook this holds its largest training in the full
profile (recipe, its config, batch size) and estimates the memory one step needs there with
:func:`gancourse.engine.memory.estimate`: in fp32, and with bf16 autocast (the recipes' ``amp``), where the
activations take half the bytes and the weights, gradients and Adam's moments stay fp32. CUDA's own context
comes on top. ``gancourse doctor --profile full`` prints the table; ``tests/course/test_full_profile.py``
checks that every run the full profile trains is covered by its notebook's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.memory import MemoryEstimate, estimate
from ..recipes import recipe_class

T4_BYTES = 15 * 1024**3  # a 16 GB T4 shows about 15 GiB to PyTorch
CUDA_CONTEXT_BYTES = 512 * 1024**2  # the CUDA context and cuDNN's workspace, before any tensor
MARGIN = 0.75  # what a notebook may plan to use of the card: fragmentation and evaluation need the rest


@dataclass(frozen=True)
class LargestRun:
    """A notebook's largest training in the full profile (what config.json records of it)."""

    recipe: str
    batch_size: int
    config: dict[str, Any] = field(default_factory=dict)  # the recipe config's fields that are not defaults

    def estimate(self) -> MemoryEstimate:
        return estimate(self.recipe, recipe_class(self.recipe).Config(**self.config), self.batch_size)


def bytes_needed(run: MemoryEstimate, amp: bool) -> int:
    """One step's memory on a GPU: activations (halved by bf16 autocast), fp32 state and the CUDA context."""
    activations = run.per_image * run.batch_size // (2 if amp else 1)
    return activations + run.fixed + CUDA_CONTEXT_BYTES


# Read off the full-profile dry run (GANCOURSE_STEP_CAP): tests/course/test_full_profile.py fails when a run of
# a notebook needs more than its row. 07 trains through its sweep target: the widest generator of its grids.
LARGEST_FULL_RUN: dict[str, LargestRun] = {
    "01_mnist_dcgan": LargestRun("dcgan", 64, {"lr_g": 5e-4, "lr_d": 5e-4, "ema": 5000.0}),
    "02_wikiart_dcgan": LargestRun("dcgan", 32, {"image_size": 64, "channels": 3, "nz": 100, "g_width": 64,
                                                 "d_width": 64, "d_norm": "spectral"}),
    "03_mode_collapse": LargestRun("wgan-gp", 64, {"channels": 3, "d_width": 8, "lr_g": 1e-3, "lr_d": 2e-4,
                                                   "n_critic": 2, "track_grad_norm": False}),
    "04_wgan_gp": LargestRun("wgan-gp", 64),
    "05_quickdraw_cgan": LargestRun("cgan", 64, {"n_classes": 10}),
    "06_monet_cyclegan": LargestRun("cyclegan", 1, {"domain_a": "monet", "domain_b": "photo",
                                                    "constant_steps": 5000, "decay_steps": 5000}),
    "07_hyperparameter_sweeps": LargestRun("dcgan", 64, {"g_width": 128, "d_width": 64, "dropout": 0.5}),
}


def gpu_memory_table(capacity: int = T4_BYTES) -> list[tuple[str, float, float, bool]]:
    """(notebook, GiB in fp32, GiB with bf16 autocast, fits with margin) for each notebook's largest run."""
    rows = []
    for notebook, run in LARGEST_FULL_RUN.items():
        step = run.estimate()
        fp32, amp = bytes_needed(step, amp=False), bytes_needed(step, amp=True)
        rows.append((notebook, fp32 / 1024**3, amp / 1024**3, fp32 <= MARGIN * capacity))
    return rows
