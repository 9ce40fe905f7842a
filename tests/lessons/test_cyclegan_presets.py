from __future__ import annotations

from gancourse.lessons.cyclegan_presets import preset, run_name
from gancourse.recipes.cyclegan import PRESETS, CycleGANConfig


def test_run_name_names_what_differs_from_the_reference_only():
    def name(**options) -> str:
        return run_name(CycleGANConfig(**options), 128, 800, seed=1)

    plain = name()
    assert plain == "cyclegan-resnet-128px-800steps-cycle10-id0.5-curate0-seed1"  # runs made before: same name
    assert name(upsample="nearest") == plain + "-nearest"
    assert name(generator="unet", upsample="nearest", residual=True) == name(generator="unet")  # the unet ignores them
    assert name(diffaugment="color,translation") == plain + "-da-color-translation"
    assert name(upsample="nearest", residual=True, lambda_cycle=0.3, lambda_identity=0.0, d_norm="none", ema=100.0) == (
        "cyclegan-resnet-128px-800steps-cycle0.3-id0-curate0-seed1-nearest-residual-d-none-ema100")
    assert name(d_norm="instance") == plain  # the same as the generators' norm: the reference


def test_presets_fill_in_the_schedule_and_keep_their_recipe_options():
    for profile, chosen in PRESETS.items():
        plan = preset(profile)
        assert plan["recipe"]["constant_steps"] + plan["recipe"]["decay_steps"] == chosen["steps"]
        assert chosen["recipe"].items() <= plan["recipe"].items()
