"""Image folders and the wikiart dataset, its feature-network metrics, latent walks and the explorer widget."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gancourse.data import BatchStream, DatasetNotFound, load_dataset
from gancourse.data import folders as folders_module
from gancourse.data.folders import EmptyImageFolder, SkippedFilesWarning, load_image_folder, prepare_image_folder
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


def test_folder_images_are_centre_cropped_and_resized(tmp_data_root: Path) -> None:
    folder = tmp_data_root / "bands"
    folder.mkdir()
    _three_band(folder / "a.png")
    _jpeg(folder / "b.jpg", 30, 70, (10, 20, 200))
    data = load_image_folder(folder, 16, progress=False)
    assert tuple(data.images.shape) == (2, 3, 16, 16) and data.images.dtype == torch.uint8
    band = data.images[0].int()
    assert (band[1] > 250).all() and (band[0] < 5).all() and (band[2] < 5).all()  # only the green square is left
    assert data.labels is None and data.name == "bands"
    grey = load_image_folder(folder, 8, channels=1, progress=False)
    assert tuple(grey.images.shape) == (2, 1, 8, 8)


def test_prepared_folder_is_cached_and_rebuilt_when_the_folder_changes(tmp_data_root: Path, monkeypatch) -> None:
    folder = tmp_data_root / "pics"
    folder.mkdir()
    for i in range(3):
        _jpeg(folder / f"p{i}.jpg", 20, 20, (50 * i, 0, 0))
    first = prepare_image_folder(folder, 12, progress=False)
    assert first.array_path.is_file() and first.files == ["p0.jpg", "p1.jpg", "p2.jpg"]

    def no_decoding(*args, **kwargs):
        raise AssertionError("the cached array should have been used")

    monkeypatch.setattr(folders_module, "square_image", no_decoding)
    again = prepare_image_folder(folder, 12, progress=False)
    assert again.array_path == first.array_path
    monkeypatch.undo()

    _jpeg(folder / "p3.jpg", 20, 20, (0, 0, 255))
    changed = prepare_image_folder(folder, 12, progress=False)
    assert changed.array_path != first.array_path and len(changed) == 4
    assert prepare_image_folder(folder, 24, progress=False).array_path != changed.array_path  # size is in the key


def test_unreadable_files_are_skipped_with_one_warning(tmp_data_root: Path) -> None:
    folder = tmp_data_root / "mixed"
    folder.mkdir()
    for i in range(3):
        _jpeg(folder / f"good{i}.jpg", 16, 16, (0, 80 * i, 0))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    truncated = (folder / "good0.jpg").read_bytes()[:40]
    (folder / "truncated.jpg").write_bytes(truncated)
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.jpg").write_bytes(b"ignored")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_image_folder(folder, 8, progress=False)
    skipped = [w for w in caught if issubclass(w.category, SkippedFilesWarning)]
    assert len(skipped) == 1 and "skipped 3 of 6 files" in str(skipped[0].message)
    assert len(data) == 3


def test_empty_or_unreadable_folder_is_a_clear_error(tmp_data_root: Path) -> None:
    empty = tmp_data_root / "empty"
    empty.mkdir()
    with pytest.raises(EmptyImageFolder, match="is empty"):
        load_image_folder(empty, 8, progress=False)
    junk = tmp_data_root / "junk"
    junk.mkdir()
    (junk / "a.txt").write_text("x")
    with pytest.warns(SkippedFilesWarning), pytest.raises(EmptyImageFolder, match="no readable image"):
        load_image_folder(junk, 8, progress=False)
    with pytest.raises(FileNotFoundError, match="no image folder"):
        load_image_folder(tmp_data_root / "missing", 8, progress=False)


def test_large_prepared_arrays_are_memory_mapped(tmp_data_root: Path, monkeypatch) -> None:
    folder = tmp_data_root / "big"
    folder.mkdir()
    for i in range(6):
        _jpeg(folder / f"{i}.jpg", 20, 20, (40 * i, 0, 0))
    monkeypatch.setattr(folders_module, "MMAP_BYTES", 0)
    data = load_image_folder(folder, 8, progress=False)
    assert isinstance(data.images, np.memmap)
    batch = BatchStream(data, 4, seed=0).next()
    assert batch.images.shape == (4, 3, 8, 8) and batch.images.min() >= -1 and batch.images.max() <= 1


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


def test_feature_network_metrics_rank_real_above_noise(wikiart_root: Path, monkeypatch) -> None:
    from gancourse.metrics import evaluator_for, features
    from gancourse.metrics.inception import inception_fid, inception_status

    monkeypatch.setattr(features, "TRAIN_STEPS", 15)
    train = load_dataset("wikiart", size=32)
    test = load_dataset("wikiart", "test", size=32)
    evaluator = evaluator_for(train, test=test, n=200, progress=False)
    assert isinstance(evaluator.judge, features.FeatureNet) and evaluator.n == len(test)
    assert (features.cache_dir() / "features").is_dir()

    class Sampler:
        def __init__(self, images) -> None:
            self.images = images

        def sample(self, n, generator=None):
            return self.images[torch.randint(len(self.images), (n,), generator=generator)]

    real = evaluator(Sampler(train.images.float() / 127.5 - 1))
    noise = evaluator(Sampler(torch.rand(50, 3, 32, 32) * 2 - 1))
    assert {"fid", "kid", "precision", "recall", "fid_floor"} <= set(real)
    assert real["fid"] < noise["fid"]
    monkeypatch.setenv("GANCOURSE_INCEPTION", str(wikiart_root / "no-such-weights.pth"))
    assert inception_fid(train.images[:2].float(), train.images[:2].float()) is None
    assert "skipped" in inception_status()


def test_unlabelled_images_get_a_feature_network_evaluator(tmp_data_root: Path, monkeypatch) -> None:
    from gancourse.metrics import evaluator_for, features

    monkeypatch.setattr(features, "TRAIN_STEPS", 3)
    folder = tmp_data_root / "plain"
    folder.mkdir()
    for i in range(44):
        _jpeg(folder / f"{i:02d}.jpg", 16, 16, (5 * i, 255 - 5 * i, 0))
    data = load_image_folder(folder, 16, progress=False)
    evaluator = evaluator_for(data, n=100, progress=False)
    assert evaluator.n == 11 and evaluator.num_classes == 0  # every fourth image held out as the reference


def _tiny_generator():
    from gancourse.models import Generator

    torch.manual_seed(0)
    return Generator(image_size=16, channels=3, nz=8, width=4).eval()


def test_interpolation_strip_runs_between_the_two_seeds() -> None:
    from gancourse.viz.latent import generate, interpolation_strip, latent_for_seed, slerp

    g = _tiny_generator()
    strip = interpolation_strip(g, seed_a=3, seed_b=5, steps=6)
    assert strip.shape == (6, 3, 16, 16)
    ends = generate(g, torch.cat([latent_for_seed(8, 3), latent_for_seed(8, 5)]))
    assert torch.allclose(strip[0], ends[0], atol=1e-5) and torch.allclose(strip[-1], ends[1], atol=1e-5)
    a, b = torch.randn(8) * 3, torch.randn(8) * 3
    middle = slerp(a, b, torch.tensor([0.5]))[0]
    assert abs(float(middle.norm()) - float((a.norm() + b.norm()) / 2)) < 0.25 * float(a.norm())


def test_latent_explorer_reacts_to_its_controls_and_falls_back_to_a_figure(monkeypatch) -> None:
    from gancourse.viz.frontend import live_frontend
    from gancourse.viz.widgets import LatentExplorer

    explorer = LatentExplorer(_tiny_generator(), n_directions=3, images_per_seed=2)
    box = explorer.widget()
    controls = box.controls
    before = controls["image"].value
    assert before[:4] == b"\x89PNG" and len(controls["sliders"]) == 3
    controls["sliders"][1].value = 2.5
    moved = controls["image"].value
    assert moved != before
    controls["reset"].click()
    assert controls["image"].value == before
    controls["seed"].value = 7
    assert controls["image"].value != before
    assert not live_frontend()  # pytest has no live kernel
    figure = explorer.show(seed=1)
    assert figure.axes  # the static sweep
    with pytest.raises(ValueError, match="no latent input"):
        LatentExplorer(torch.nn.Linear(2, 2))
