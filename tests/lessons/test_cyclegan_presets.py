from __future__ import annotations

from gancourse.lessons.cyclegan_presets import preset, run_name
from gancourse.recipes.cyclegan import PRESETS


def test_run_name_names_upsampling_and_diffaugment_only_when_they_differ_from_the_reference():
    plain = run_name("resnet", 128, 800, seed=1)
    assert plain == "cyclegan-resnet-128px-800steps-cycle10-id0.5-curate0-seed1"  # runs made before: same name
    assert run_name("resnet", 128, 800, seed=1, upsample="nearest") == plain + "-nearest"
    assert run_name("unet", 128, 800, upsample="nearest") == run_name("unet", 128, 800)  # the unet ignores it
    assert run_name("resnet", 128, 800, seed=1, diffaugment="color,translation") == plain + "-da-color-translation"
    assert run_name("resnet", 128, 800, 0.3, 0, seed=1, upsample="nearest", residual=True) == (
        "cyclegan-resnet-128px-800steps-cycle0.3-id0-curate0-seed1-nearest-residual")
    assert run_name("unet", 128, 800, residual=True) == run_name("unet", 128, 800)


def test_presets_fill_in_the_schedule_and_keep_their_recipe_options():
    for profile, chosen in PRESETS.items():
        plan = preset(profile)
        assert plan["recipe"]["constant_steps"] + plan["recipe"]["decay_steps"] == chosen["steps"]
        assert chosen["recipe"].items() <= plan["recipe"].items()
