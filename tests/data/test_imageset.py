"""gancourse.data.imageset: ImageSet (one uint8 array, its labels and classes) and BatchStream, the endless,
resumable stream of shuffled batches that training reads."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from gancourse.data import BatchStream, ImageSet, to_uint8, to_unit_range

# ------------------------------------------------------------------------------------------ ImageSet


def test_an_image_set_refuses_what_is_not_uint8_nchw_with_one_label_per_image():
    with pytest.raises(ValueError, match=r"must be \(N, C, H, W\), got shape \(4, 8, 8\)"):
        ImageSet("flat", torch.zeros(4, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="must be uint8, got torch.float32"):
        ImageSet("floats", torch.zeros(4, 1, 8, 8))
    with pytest.raises(ValueError, match="3 labels for 4 images"):
        ImageSet("short", torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.arange(3))
    ImageSet("numpy", np.zeros((4, 1, 8, 8), np.uint8))  # a NumPy array (a memory map) is as good as a tensor


def test_shape_classes_and_source_are_read_from_the_set():
    data = ImageSet("rgb", torch.zeros(5, 3, 16, 16, dtype=torch.uint8), torch.arange(5) % 2, ["cat", "dog"])
    assert (len(data), data.channels, data.size, data.num_classes) == (5, 3, 16, 2)
    assert not data.is_stand_in and "REAL data" in data.describe()
    assert data.describe().startswith("rgb: 5 images 3x16x16, 2 classes")
    stand_in = ImageSet("rgb", data.images, source="stand-in")
    assert stand_in.is_stand_in and "GENERATED STAND-IN" in stand_in.describe()


def test_subset_and_head_keep_images_labels_classes_and_source_together():
    data = numbered_set(10)
    data.source = "stand-in"
    picked = data.subset(torch.tensor([7, 2, 5]))
    assert to_ids(to_unit_range(picked.images)) == picked.labels.tolist() == [7, 2, 5]
    assert picked.class_names == data.class_names and picked.source == "stand-in"
    assert data.subset(slice(2, 4)).labels.tolist() == [2, 3]
    assert data.head(3).labels.tolist() == [0, 1, 2]
    assert data.head(0) is data and data.head(10) is data and data.head(99) is data  # 0 or too many: all of it


def test_rows_of_a_memory_map_are_read_in_file_order_with_their_labels(tmp_path):
    data = numbered_set(20)
    np.save(tmp_path / "images.npy", data.images.numpy())
    mapped = ImageSet("numbered", np.load(tmp_path / "images.npy", mmap_mode="r"), data.labels, data.class_names)
    images, labels = mapped.rows(torch.tensor([9, 3, 15]))
    assert isinstance(images, torch.Tensor) and images.dtype == torch.uint8
    assert labels.tolist() == [3, 9, 15]  # sorted, so the reads are sequential on disk
    assert to_ids(to_unit_range(images)) == labels.tolist()  # and each label stays with its image


def test_unit_range_and_uint8_are_inverse_on_every_level():
    levels = torch.arange(256, dtype=torch.uint8)
    scaled = to_unit_range(levels)
    assert scaled.dtype == torch.float32 and scaled[0] == -1 and scaled[-1] == 1
    assert torch.equal(to_uint8(scaled), levels)
    assert to_uint8(torch.tensor([-3.0, 5.0])).tolist() == [0, 255]  # out of range: clamped, not wrapped


# ------------------------------------------------------------------------------------------ BatchStream


def numbered_set(n: int, size: int = 4) -> ImageSet:
    """Image i is filled with the value i (n <= 256), so a batch tells which images it holds."""
    images = torch.arange(n, dtype=torch.uint8)[:, None, None, None].expand(n, 1, size, size).clone()
    return ImageSet("numbered", images, torch.arange(n), [f"c{i}" for i in range(n)])


def ids(batch) -> list[int]:
    return to_ids(batch.images)


def to_ids(images: torch.Tensor) -> list[int]:
    return images[:, 0, 0, 0].add(1).mul(127.5).round().long().tolist()


def test_batches_are_floats_in_unit_range_on_the_device():
    data = numbered_set(256)
    stream = BatchStream(data, 32, "cpu", seed=1)
    seen = []
    for _ in range(8):
        batch = stream.next()
        assert batch.images.dtype == torch.float32 and batch.images.device.type == "cpu"
        assert batch.images.shape == (32, 1, 4, 4) and batch.labels.dtype == torch.int64
        assert batch.images.min() >= -1 and batch.images.max() <= 1
        assert ids(batch) == batch.labels.tolist()  # images and labels stay paired
        seen += ids(batch)
    assert sorted(seen) == list(range(256))  # one epoch: every image once
    assert torch.equal(to_unit_range(torch.tensor([0, 255], dtype=torch.uint8)), torch.tensor([-1.0, 1.0]))


def test_flip_augmentation_mirrors_some_images():
    n = 64
    images = torch.zeros(n, 1, 6, 6, dtype=torch.uint8)
    images[..., :3] = 255  # bright left half: a flip moves it right
    data = ImageSet("halves", images, torch.zeros(n, dtype=torch.long), ["x"])
    flipped = BatchStream(data, 64, flip=True, seed=0).next().images
    left_bright = flipped[..., 0, 0] > 0
    assert 10 < int(left_bright.sum()) < 54  # about half flipped
    assert torch.equal(flipped[~left_bright[:, 0]], to_unit_range(images.flip(-1))[~left_bright[:, 0]])
    plain = BatchStream(data, 64, flip=False, seed=0).next().images
    assert torch.equal(plain, to_unit_range(images))


def _run(stream: BatchStream, steps: int) -> list[torch.Tensor]:
    return [stream.next().images for _ in range(steps)]


@pytest.mark.parametrize("stop_after", [0, 3, 6, 8])  # before anything, mid-epoch, at an epoch's end, after
def test_state_dict_resumes_the_same_batches(stop_after):
    data = numbered_set(50)  # 6 batches of 8 per epoch (2 images left over)
    reference = _run(BatchStream(data, 8, flip=True, seed=7), stop_after + 10)
    first = BatchStream(data, 8, flip=True, seed=7)
    _run(first, stop_after)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)  # as a checkpoint stores it
    buffer.seek(0)
    resumed = BatchStream(data, 8, flip=True, seed=999)  # a different seed: the state must win
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    after = _run(resumed, 10)
    for expected, got in zip(reference[stop_after:], after, strict=True):
        assert torch.equal(expected, got)


def test_epochs_are_reshuffled():
    stream = BatchStream(numbered_set(40), 40, seed=0)
    first, second = ids(stream.next()), ids(stream.next())
    assert sorted(first) == sorted(second) == list(range(40)) and first != second


def test_shards_partition_each_epoch():
    n, world, batch = 103, 4, 5
    data = numbered_set(n)
    streams = [BatchStream(data, batch, seed=3, shard=(rank, world)) for rank in range(world)]
    per_epoch = streams[0].batches_per_epoch
    assert per_epoch == n // world // batch
    for _ in range(2):  # two epochs, each split across the ranks without overlap
        taken = [sum((ids(s.next()) for _ in range(per_epoch)), []) for s in streams]
        flat = sum(taken, [])
        assert len(flat) == len(set(flat)) == world * per_epoch * batch
        assert set(flat) <= set(range(n))
    assert len({tuple(ids(s.next())) for s in streams}) == world


def test_stream_rejects_bad_shapes():
    data = numbered_set(20)
    with pytest.raises(ValueError, match="batch size from 1 to 20"):
        BatchStream(data, 21)
    with pytest.raises(ValueError, match="batch size from 1 to 5"):
        BatchStream(data, 6, shard=(0, 4))
    with pytest.raises(ValueError, match="rank < world"):
        BatchStream(data, 2, shard=(4, 4))


def test_memory_mapped_images_stream_like_tensors(tmp_path):
    data = numbered_set(64)
    path = tmp_path / "images.npy"
    np.save(path, data.images.numpy())
    mapped = ImageSet("numbered", np.load(path, mmap_mode="r"), data.labels, data.class_names)
    batch = BatchStream(mapped, 16, seed=0).next()
    assert ids(batch) == batch.labels.tolist()
    assert sorted(ids(batch)) == sorted(ids(BatchStream(data, 16, seed=0).next()))


def test_one_seed_fixes_the_order_and_the_flips():
    data = numbered_set(40)
    one, same = BatchStream(data, 8, flip=True, seed=5), data.stream(8, flip=True, seed=5)  # stream() is a BatchStream
    other = BatchStream(data, 8, flip=True, seed=6)
    first, second, third = _run(one, 12), _run(same, 12), _run(other, 12)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert [to_ids(a) for a in first] != [to_ids(c) for c in third]


def test_epochs_count_whole_batches_and_leave_the_remainder_out():
    stream = BatchStream(numbered_set(50), 8, seed=0)  # 6 batches of 8 per epoch, 2 images left over
    assert stream.batches_per_epoch == 6 and stream.epoch == 0
    epoch = sum((ids(stream.next()) for _ in range(6)), [])
    assert stream.epoch == 1 and len(set(epoch)) == 48  # no image twice within an epoch
    stream.next()
    assert stream.epoch == 2  # the seventh batch starts a new permutation
