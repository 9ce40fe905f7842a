"""Image folders and the wikiart dataset, its feature-network metrics, latent walks and the explorer widget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancourse.data import DatasetNotFound, load_dataset
from gancourse.data.wikiart import artist_of, is_held_out

ARTISTS = {"alice-aa": 12, "bob-bb": 8, "carol-cc": 4}


def _jpeg(path: Path, width: int, height: int, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (width, height), colour).save(path, quality=95)
    return path


def _three_band(path: Path) -> Path:
    """60 x 40: a red 10 px band, a green middle 40 px square, a blue 10 px band (the crop keeps the green)."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :10] = (255, 0, 0)
    image[:, 10:50] = (0, 255, 0)
    image[:, 50:] = (0, 0, 255)
    Image.fromarray(image).save(path)
    return path


@pytest.fixture
def wikiart_root(tmp_data_root: Path) -> Path:
    folder = tmp_data_root / "wikiart" / "Impressionism"
    folder.mkdir(parents=True)
    for k, (artist, count) in enumerate(ARTISTS.items()):
        for i in range(count):
            _jpeg(folder / f"{artist}_painting-{i}.jpg", 48 + 4 * i, 40, (40 * k + 20, 10 * i, 100))
    (tmp_data_root / "wikiart" / "Baroque").mkdir()
    return tmp_data_root


def test_wikiart_labels_artists_and_holds_out_a_fixed_quarter(wikiart_root: Path) -> None:
    train = load_dataset("wikiart", size=32)
    test = load_dataset("wikiart", "test", size=32)
    everything = load_dataset("wikiart", "all", size=32)
    assert train.class_names == sorted(ARTISTS) and train.images.shape[1:] == (3, 32, 32)
    assert len(train) + len(test) == len(everything) == sum(ARTISTS.values())
    names = sorted(f"{a}_painting-{i}.jpg" for a, n in ARTISTS.items() for i in range(n))
    assert len(test) == sum(is_held_out(n) for n in names) > 0
    counts = torch.bincount(everything.labels, minlength=3).tolist()
    assert counts == [ARTISTS[a] for a in sorted(ARTISTS)]
    assert artist_of("camille-pissarro_the-road_1872.jpg") == "camille-pissarro"


def test_wikiart_artist_filter_and_its_errors(wikiart_root: Path) -> None:
    only_bob = load_dataset("wikiart", "all", size=32, artist="bob-bb")
    assert len(only_bob) == ARTISTS["bob-bb"] and only_bob.class_names == ["bob-bb"]
    two = load_dataset("wikiart", "all", size=32, artist=["alice-aa", "carol-cc"])
    assert two.class_names == ["alice-aa", "carol-cc"] and len(two) == 16
    with pytest.raises(ValueError, match=r"no artist 'monet'.*alice-aa \(12\), bob-bb \(8\), carol-cc \(4\)"):
        load_dataset("wikiart", size=32, artist="monet")
    with pytest.raises(ValueError, match="no wikiart style 'Cubism'.*available: Baroque, Impressionism"):
        load_dataset("wikiart", style="Cubism")
    with pytest.raises(ValueError, match="size must be one of 32, 64, 128, 256"):
        load_dataset("wikiart", size=100)


def test_wikiart_missing_is_an_error_or_a_stand_in(tmp_data_root: Path) -> None:
    with pytest.raises(DatasetNotFound, match="wikiart/<style>"):
        load_dataset("wikiart", download=False)
    with pytest.warns(UserWarning, match="stand-in"):
        stand_in = load_dataset("wikiart", size=32, allow_stand_in=True)
    assert stand_in.is_stand_in and stand_in.images.shape[1:] == (3, 32, 32) and stand_in.num_classes == 3


def _tiny_generator():
    from gancourse.models import Generator

    torch.manual_seed(0)
    return Generator(image_size=16, channels=3, nz=8, width=4).eval()
