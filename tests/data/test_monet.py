"""monet2photo and the unpaired stream (gancourse.data.monet, gancourse.data.unpaired)."""

from __future__ import annotations

import pytest
import torch

from gancourse.data import ImageSet, load_dataset
from gancourse.data.unpaired import UnpairedSet, random_crop

from ..helpers import toy_unpaired, write_images, write_monet2photo


def test_random_crop_takes_windows_of_each_image_reproducibly():
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    crops = random_crop(images, 4, torch.Generator().manual_seed(3))
    again = random_crop(images, 4, torch.Generator().manual_seed(3))
    assert crops.shape == (2, 1, 4, 4) and torch.equal(crops, again)
    for i in range(2):  # each crop is a contiguous window of its own image
        top, left = divmod(int(crops[i, 0, 0, 0] - 36 * i), 6)
        assert torch.equal(crops[i, 0], images[i, 0, top:top + 4, left:left + 4])
    with pytest.raises(ValueError, match="larger than the images"):
        random_crop(images, 7, torch.Generator())


def test_unpaired_stream_gives_both_domains_and_resumes_exactly():
    data = toy_unpaired()
    stream = data.stream(3, flip=True, seed=5)
    batch = stream.next()
    assert batch.a.shape == batch.b.shape == (3, 3, 32, 32) and batch.a.min() >= -1 and batch.a.max() <= 1
    assert batch.a[:, 0].mean() > batch.a[:, 2].mean() and batch.b[:, 2].mean() > batch.b[:, 0].mean()
    assert stream.batches_per_epoch == 5  # the larger domain, 15 images
    state = stream.state_dict()
    expected = [stream.next() for _ in range(6)]
    other = data.stream(3, flip=True, seed=5)
    other.load_state_dict(state)
    for want in expected:
        got = other.next()
        assert torch.equal(got.a, want.a) and torch.equal(got.b, want.b)


def test_monet2photo_reads_the_cyclegan_layout_with_a_crop_margin(tmp_data_root):
    write_monet2photo(tmp_data_root)
    train = load_dataset("monet2photo", size=32)
    assert isinstance(train, UnpairedSet) and train.domains == ("monet", "photo") and not train.is_stand_in
    assert (len(train.a), len(train.b)) == (6, 7) and (train.a.size, train.size) == (36, 32)
    assert train.a.images[:, 0].float().mean() > 150 and train.b.images[:, 2].float().mean() > 150  # A = Monet
    assert (len(train.preview.a), len(train.preview.b), train.preview.size) == (2, 3, 32)
    assert load_dataset("monet2photo", size=32, jitter=False).crop == 0  # stored at the model's size
    windows = load_dataset("monet2photo", size=32, crop=16)
    assert windows.size == 16 and windows.stream(2).next().a.shape == (2, 3, 16, 16)
    test = load_dataset("monet2photo", "test", size=32)
    assert (len(test.a), len(test.b), test.size, test.crop) == (2, 3, 32, 0)
    with pytest.raises(ValueError, match="crop must be a multiple of 4"):
        load_dataset("monet2photo", size=32, crop=48)


def test_monet2photo_reads_the_kaggle_layout_with_a_deterministic_split(tmp_data_root):
    base = tmp_data_root / "gan-getting-started"
    write_images(base / "monet_jpg", [f"m{i:02d}.png" for i in range(20)], (200, 0, 0))
    write_images(base / "photo_jpg", [f"p{i:02d}.png" for i in range(10)], (0, 0, 200))
    train = load_dataset("monet2photo", size=32)
    assert isinstance(train, UnpairedSet) and (len(train.a), len(train.b)) == (18, 9)
    assert train.a.size == 36 and train.size == 32 and train.crop == 32  # stored larger for random crops
    assert (len(train.preview.a), len(train.preview.b)) == (2, 1) and train.preview.size == 32
    test = load_dataset("monet2photo", "test", size=32)
    assert test.crop == 0 and test.a.images[0, 1, 0, 0] == 180  # the last two paintings (i = 18, 19)
    monet = load_dataset("monet2photo", size=16, domain="monet")
    assert isinstance(monet, ImageSet) and len(monet) == 18 and monet.size == 16
    assert len(load_dataset("monet2photo", size=32, curate_every=3).a) == 6
    with pytest.raises(ValueError, match="both, monet, photo"):
        load_dataset("monet2photo", domain="dogs")


def test_monet2photo_stand_in_is_announced_and_shaped_like_the_real_set(tmp_data_root, monkeypatch):
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    with pytest.warns(UserWarning, match="stand-in"):
        data = load_dataset("monet2photo", size=32, allow_stand_in=True)
    assert data.is_stand_in and data.size == 32 and data.channels == 3 and data.preview is not None
