"""The scaffold around a student's code: their recipes train through the course's fit, and resume."""

import numpy as np

from gancourse.course import exercises
from gancourse.course.exercises import solutions


def test_students_recipes_train_through_fit(tmp_path):
    from gancourse.data import ImageSet
    from gancourse.engine.training import Loop, fit
    from gancourse.recipes.cyclegan import CycleGANConfig
    from gancourse.recipes.dcgan import GANConfig
    from gancourse.recipes.wgan import WGANGPConfig

    from ..helpers import blob_images

    digits = blob_images(64, size=28)
    small = GANConfig(image_size=28, channels=1, nz=64, amp=False)
    runs = {
        "gan": solutions.GAN(small, G=solutions.Generator28(64, 8), D=solutions.Discriminator28(8)),
        "augmented": exercises.AugmentedGAN(small, augment=solutions.translate),
        "critic": solutions.WGANGP(WGANGPConfig(image_size=28, channels=1, g_width=8, d_width=8, n_critic=2,
                                                amp=False)),
    }
    for name, recipe in runs.items():
        result = fit(recipe, digits, tmp_path / name, Loop(steps=3, batch_size=8), progress=False)
        assert result.step == 3 and result.run.generator_path.is_file()
        assert np.isfinite(result.history[-1].get("loss_d", 0.0)) if result.history else True
    again = fit(runs["gan"], digits, tmp_path / "gan", Loop(steps=4, batch_size=8), progress=False)  # resumes
    assert again.step == 4

    from gancourse.data.unpaired import UnpairedSet

    paintings = ImageSet("a", blob_images(8, size=16, channels=3).images, None, [], "real")
    photos = ImageSet("b", blob_images(8, size=16, channels=3, seed=1).images, None, [], "real")
    pairs = UnpairedSet("toy", paintings, photos)
    config = CycleGANConfig(image_size=16, ngf=4, n_blocks=1, ndf=4, d_layers=2, amp=False, pool_size=2)
    recipe = exercises.CycleGANExercise(config, generator_loss=solutions.cyclegan_generator_loss, pool=solutions.Pool)
    result = fit(recipe, pairs, tmp_path / "cycle", Loop(steps=3, batch_size=1), progress=False)
    assert result.step == 3
