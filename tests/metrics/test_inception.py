"""``gancourse download inception`` and the FID Inception network (pytorch-fid's, rebuilt here)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from gancourse.data import download as dl
from gancourse.metrics import inception


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    """A state dict in pytorch-fid's layout (random weights): what the real file holds, minus the training."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / inception.WEIGHTS_NAME
    torch.save(inception.FIDInception().net.state_dict(), path)
    return path


def test_the_network_has_pytorch_fids_state_dict_layout(weights_file):
    from torchvision.models import inception_v3

    state = torch.load(weights_file, weights_only=True)
    reference = inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    assert state.keys() == reference.keys()  # pytorch-fid's .pth loads with strict=True
    assert all(state[k].shape == reference[k].shape for k in state)
    assert state["fc.weight"].shape == (1008, 2048)


def test_the_patched_blocks_pool_like_tensorflow():
    net = inception.FIDInception().net
    assert net.Mixed_7c.max_pool and not net.Mixed_7b.max_pool
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 0] = 9.0
    # TensorFlow's average pool leaves the padding out: the corner mean is over 4 values, not 9
    assert inception._tf_avg_pool(x)[0, 0, 0, 0].item() == pytest.approx(9.0 / 4)


def test_inception_fid_with_weights_present(weights_file, monkeypatch):
    monkeypatch.setattr(inception, "INPUT_SIZE", 75)  # the smallest input Inception-v3 takes: fast on a CPU
    monkeypatch.setenv("GANCOURSE_INCEPTION", str(weights_file))
    assert inception.inception_weights() == weights_file
    assert "computed too" in inception.inception_status()
    g = torch.Generator().manual_seed(1)
    real = torch.rand(4, 3, 32, 32, generator=g) * 2 - 1
    grey = torch.rand(4, 1, 28, 28, generator=g) * 2 - 1
    features = inception.inception_features(real, weights_file)
    assert features.shape == (4, 2048) and torch.isfinite(features).all()
    assert inception.inception_features(grey, weights_file).shape == (4, 2048)
    assert not torch.allclose(features, inception.inception_features(-real, weights_file))
    seen = []  # the Fréchet distance itself is tested in test_metrics; a 2048-d sqrtm takes a minute on a CPU
    monkeypatch.setattr(inception, "fid_from_features", lambda a, b: seen.append((a, b)) or 1.5)
    assert inception.inception_fid(real, -real) == 1.5
    assert torch.equal(seen[0][0], features) and seen[0][1].shape == (4, 2048)


def test_offline_the_message_names_the_download_command(tmp_data_root, monkeypatch):
    monkeypatch.delenv("GANCOURSE_INCEPTION", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_data_root / "no-hub"))
    assert inception.inception_weights() is None
    assert inception.inception_fid(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8)) is None
    assert "gancourse download inception" in inception.inception_status()


def test_download_checks_the_sha256_and_is_found_afterwards(tmp_data_root, http_server, monkeypatch, weights_file):
    data = weights_file.read_bytes()
    http_server.write("fid_weights/" + inception.WEIGHTS_NAME, data)
    monkeypatch.setattr(inception, "WEIGHTS_URL", http_server.url_for("fid_weights/" + inception.WEIGHTS_NAME))
    monkeypatch.delenv("GANCOURSE_INCEPTION", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_data_root / "no-hub"))
    monkeypatch.setattr(inception, "WEIGHTS_SHA256", "0" * 64)
    monkeypatch.setattr(inception, "WEIGHTS_SIZE", len(data))
    with pytest.raises(dl.ChecksumError, match="SHA-256"):
        inception.download_inception()
    assert list(tmp_data_root.iterdir()) == []  # nothing left behind
    monkeypatch.setattr(inception, "WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    path = inception.download_inception()
    assert path == inception.weights_path() and inception.inception_weights() == path
    before = len(http_server.requests)
    inception.download_inception()  # already there: no request
    assert len(http_server.requests) == before


def test_inception_fid_of_a_generator_against_uint8_paintings(weights_file, monkeypatch):
    from gancourse.models import Generator

    monkeypatch.setattr(inception, "INPUT_SIZE", 75)
    monkeypatch.setenv("GANCOURSE_INCEPTION", str(weights_file))
    seen = []
    monkeypatch.setattr(inception, "fid_from_features", lambda a, b: seen.append((a, b)) or 2.5)
    generator = Generator(32, 3, 100, 8).train()
    real = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    assert inception.inception_fid_of_generator(generator, real) == 2.5
    assert seen[0][0].shape == seen[0][1].shape == (3, 2048) and generator.training  # mode restored
    monkeypatch.setenv("GANCOURSE_INCEPTION", str(weights_file.parent / "missing.pth"))
    assert inception.inception_fid_of_generator(generator, real) is None
