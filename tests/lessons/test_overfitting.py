import json

import torch

from gancourse.devices import seed_everything
from gancourse.engine.training import Loop, fit
from gancourse.lessons.overfitting import DAccuracyMonitor, d_real_accuracy, read_d_accuracy
from gancourse.recipes import DCGAN

from ..helpers import blob_images


def test_d_accuracy_leaves_d_and_the_random_streams_unchanged():
    data = blob_images(64, size=16, channels=3)
    seed_everything(0)
    recipe = DCGAN(DCGAN.config_for(data, nz=8, g_width=8, d_width=8, diffaugment="color,translation"))
    before = {k: v.clone() for k, v in recipe.D.state_dict().items()}
    state = torch.get_rng_state()
    acc = d_real_accuracy(recipe, data.images[:40])
    assert 0.0 <= acc <= 1.0
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(v, recipe.D.state_dict()[k]) for k, v in before.items())


def test_monitor_records_train_and_held_out_accuracy_during_fit(tmp_path):
    data = blob_images(96, size=16, channels=3)
    seed_everything(0)
    recipe = DCGAN(DCGAN.config_for(data, nz=8, g_width=8, d_width=8))
    monitor = DAccuracyMonitor(data.images[:48], data.images[48:], every=10)
    fit(recipe, data, tmp_path / "r", Loop(steps=25, batch_size=16), hooks=[monitor], progress=False)
    records = read_d_accuracy(tmp_path / "r")
    assert [r["step"] for r in records] == [10, 20, 25]
    assert all(0 <= r["d_acc_train"] <= 1 and 0 <= r["d_acc_held_out"] <= 1 for r in records)
    with open(tmp_path / "r" / "d_accuracy.jsonl", "a") as f:  # a resumed run writes a step again: last one wins
        f.write(json.dumps({"step": 20, "d_acc_train": 0.5, "d_acc_held_out": 0.25}) + "\n")
    assert read_d_accuracy(tmp_path / "r")[1]["d_acc_held_out"] == 0.25


def test_the_monitor_compares_random_subsets_not_the_first_images():
    from gancourse.lessons.overfitting import same_size_subsets

    sorted_by_class = torch.arange(200).repeat_interleave(1).reshape(200, 1, 1, 1)  # image i "is" class i // 100
    train, held = same_size_subsets(sorted_by_class, torch.arange(50).reshape(50, 1, 1, 1), n=40)
    assert len(train) == len(held) == 40
    assert (train.flatten() >= 100).any() and (train.flatten() < 100).any()  # both halves of a sorted folder


def test_d_accuracy_is_the_same_for_the_same_d_whatever_the_random_state():
    data = blob_images(64, size=16, channels=3)
    seed_everything(0)
    recipe = DCGAN(DCGAN.config_for(data, nz=8, g_width=8, d_width=8, diffaugment="color,translation,cutout"))
    first = d_real_accuracy(recipe, data.images[:40])
    torch.rand(100)  # the global stream moves on
    assert d_real_accuracy(recipe, data.images[:40]) == first
