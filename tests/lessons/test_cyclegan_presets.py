from __future__ import annotations

import pytest
import torch

from gancourse.course.parameters import ParameterError
from gancourse.engine.run_options import fill_defaults
from gancourse.lessons.cyclegan_presets import preset
from gancourse.recipes.cyclegan import PRESETS, CycleGANConfig


def test_presets_fill_in_the_schedule_for_the_steps_trained_and_keep_their_recipe_options():
    for profile, chosen in PRESETS.items():
        plan = preset(profile)
        assert plan["steps"] == chosen["steps"]
        assert plan["recipe"]["constant_steps"] + plan["recipe"]["decay_steps"] == chosen["steps"]
        assert chosen["recipe"].items() <= plan["recipe"].items()
        CycleGANConfig(**plan["recipe"])  # every name is a config field
    short = preset("smoke", steps=4)  # a sweep's or a student's steps: the decay still takes the second half
    assert short["steps"] == 4 and (short["recipe"]["constant_steps"], short["recipe"]["decay_steps"]) == (2, 2)
    with pytest.raises(ParameterError, match="profile='fast'"):
        preset("fast")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_preset_states_the_whole_setting_so_train_adds_no_device_defaults(device, capsys):
    """The full profile on a CPU (and smoke on a GPU) must train what the profile says, not the device's preset."""
    for profile in PRESETS:
        options = preset(profile)["recipe"]
        _, _, filled = fill_defaults("cyclegan", "monet2photo", torch.device(device), 1, {}, dict(options), True)
        assert filled == options, profile
    assert capsys.readouterr().err == ""  # nothing was filled in, so nothing is announced
    full = preset("full")["recipe"]
    assert not full["residual"] and full["lambda_cycle"] == 10.0 and full["ema"] == 0.0  # the reference's
