"""The write-it-yourself track: checkers for the notebooks' exercises, the recipes a student's code plugs
into, and the reference solutions.

``check_xxx(your_code)`` prints PASS, FAIL with a hint naming the mistake, or NOT YET while the placeholder
is still there, and returns True/False. After a FAIL, ``show_solution("name")`` prints the reference. The
solutions stay in the package (:mod:`.solutions`), not in the notebooks; :func:`check_references` runs every
checker against its reference (``gancourse exercises --check-reference``), so the answers stay correct as the
package changes.
"""

from .catalog import EXERCISES, Exercise, check_references, show_solution
from .compare import beside_reference, code_tag
from .discriminators import (
    check_lsgan_discriminator_loss,
    check_projection_logits,
    check_r1_penalty,
    check_receptive_field,
)
from .functions import (
    check_augment,
    check_discriminator_loss,
    check_generator_loss,
    check_gradient_penalty,
)
from .measures import (
    check_fid,
    check_kid,
    check_kl_from_uniform,
    check_nearest_neighbours,
    check_per_class_accuracy,
    check_spearman,
)
from .networks import check_discriminator_module, check_generator_module, check_image_pool, check_minibatch_std
from .scaffold import AugmentedGAN, CriticExercise, CycleGANExercise, GANExercise
from .steps import check_critic_step, check_cyclegan_generator_loss, check_gan_step

__all__ = [
    "AugmentedGAN", "CriticExercise", "CycleGANExercise", "EXERCISES", "Exercise", "GANExercise", "beside_reference",
    "check_augment", "check_critic_step", "check_cyclegan_generator_loss",
    "check_discriminator_loss", "check_discriminator_module", "check_fid", "check_gan_step", "check_generator_loss",
    "check_generator_module", "check_gradient_penalty", "check_image_pool", "check_kid", "check_kl_from_uniform",
    "check_lsgan_discriminator_loss", "check_minibatch_std", "check_nearest_neighbours",
    "check_per_class_accuracy", "check_projection_logits", "check_r1_penalty", "check_receptive_field",
    "check_references", "check_spearman", "code_tag", "show_solution",
]
