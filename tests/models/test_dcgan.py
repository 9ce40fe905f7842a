import pytest
import torch

from gancourse.models import Discriminator, Generator, MinibatchStdDev
from gancourse.models.dcgan import NearestResizeConv


@pytest.mark.parametrize("size", [28, 32, 64, 128, 256])
def test_generator_and_discriminator_shapes_for_every_size(size):
    g = Generator(size, channels=3, nz=16, width=8)
    d = Discriminator(size, channels=3, width=8)
    images = g(torch.randn(2, 16))
    assert images.shape == (2, 3, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (2,)


def test_unsupported_size_is_a_clear_error():
    with pytest.raises(ValueError, match="power of two"):
        Generator(48)


def test_dcgan_initialisation_is_normal_0_002():
    d = Discriminator(64, 3, width=64)
    weight = d.features[0].weight
    assert abs(weight.mean().item()) < 0.002
    assert weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_conditional_models_use_labels():
    g = Generator(28, 1, nz=8, width=8, n_classes=3)
    d = Discriminator(28, 1, width=8, n_classes=3)
    z = torch.randn(4, 8)
    a, b = g(z, torch.zeros(4, dtype=torch.long)), g(z, torch.full((4,), 2))
    assert not torch.allclose(a, b)
    assert not torch.allclose(d(a, torch.zeros(4, dtype=torch.long)), d(a, torch.full((4,), 2)))
    with pytest.raises(ValueError, match="conditional"):
        g(z)


def test_discriminator_class_head_shares_the_features_and_is_optional():
    d = Discriminator(28, 1, width=8, n_classes=3, aux_classes=3)
    x, y = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 0])
    logits, classes = d(x, y, with_classes=True)
    assert logits.shape == (4,) and classes.shape == (4, 3)
    assert torch.allclose(logits, d(x, y))  # the real/fake logit is the same with or without the head
    with pytest.raises(ValueError, match="aux_classes"):
        Discriminator(28, 1, width=8)(x, with_classes=True)
    with pytest.raises(ValueError, match="pack=1"):
        Discriminator(28, 1, width=8, aux_classes=3, pack=2)


def test_pack_groups_samples_and_checks_batch():
    d = Discriminator(28, 1, width=8, pack=4)
    assert d(torch.randn(8, 1, 28, 28)).shape == (2,)
    with pytest.raises(ValueError, match="multiple of pack"):
        d(torch.randn(6, 1, 28, 28))


def test_minibatch_std_sees_collapse():
    layer = MinibatchStdDev(group_size=4)
    varied = layer(torch.randn(8, 3, 4, 4))
    collapsed = layer(torch.randn(1, 3, 4, 4).expand(8, 3, 4, 4).contiguous())
    assert varied.shape == (8, 4, 4, 4)
    assert collapsed[:, -1].max() < 1e-3 < varied[:, -1].min()


@pytest.mark.parametrize("norm", ["batch", "none", "spectral", "layer"])
def test_every_norm_builds_and_runs(norm):
    d = Discriminator(32, 1, width=8, norm=norm, dropout=0.2)
    assert d(torch.randn(4, 1, 32, 32)).shape == (4,)
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert has_bn == (norm == "batch")


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", [28, 32, 64])
def test_resize_convolution_generator_has_no_stride_2_transposed_convolution(size, upsample):
    g = Generator(size, 3, nz=8, width=8, upsample=upsample)
    assert g(torch.randn(2, 8)).shape == (2, 3, size, size)
    transposed = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(transposed) == 1 and transposed[0].stride == (1, 1)  # only the 1x1 -> 4x4 (7x7) projection
    doublings = 2 if size == 28 else size.bit_length() - 3  # 32 px: 4 -> 8 -> 16 -> 32
    assert sum(isinstance(m, torch.nn.Upsample) for m in g.modules()) == doublings
    assert g.config["upsample"] == upsample and Generator(**g.config).config == g.config


def test_transposed_upsampling_is_the_unchanged_default():
    g = Generator(32, 3, nz=8, width=8)
    assert "upsample" not in g.config  # exports made before the option existed load the same
    assert not any(isinstance(m, torch.nn.Upsample) for m in g.modules())
    with pytest.raises(ValueError, match="upsample"):
        Generator(32, 3, upsample="pixelshuffle")


def test_spectral_norm_wraps_the_resize_convolution():
    g = Generator(32, 3, nz=8, width=8, norm="spectral", upsample="nearest")
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(hasattr(m, "parametrizations") for m in convs) == len(convs) - 1  # all but the image layer


def _two_step(layer: torch.nn.Module) -> torch.nn.Module:
    """The textbook form of a resize-convolution, sharing the layer's own convolution."""
    return torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), layer[1])


@pytest.mark.parametrize("norm", ["batch", "spectral"])
def test_nearest_resize_convolution_is_the_two_step_function_and_gradient(norm):
    torch.manual_seed(0)
    g = Generator(32, 3, nz=8, width=8, norm=norm, upsample="nearest").double().eval()
    layers = [m for m in g.modules() if isinstance(m, NearestResizeConv)]
    assert len(layers) == 3
    for layer in layers:
        x = torch.randn(2, layer[1].in_channels, 5, 7, dtype=torch.float64, requires_grad=True)
        fused, textbook = layer(x), _two_step(layer)(x)
        assert fused.shape == textbook.shape == (2, layer[1].out_channels, 10, 14)
        torch.testing.assert_close(fused, textbook, rtol=1e-9, atol=1e-9)
        conv = layer[1]
        weight = conv.parametrizations.weight.original if hasattr(conv, "parametrizations") else conv.weight
        upstream = torch.randn_like(fused)
        fused_grads = torch.autograd.grad(fused, (x, weight), upstream)
        textbook_grads = torch.autograd.grad(textbook, (x, weight), upstream)
        for a, b in zip(fused_grads, textbook_grads, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_nearest_resize_convolution_checkpoints_of_the_two_step_form_load():
    torch.manual_seed(0)
    two_step = Generator(32, 3, nz=8, width=8, upsample="bilinear")  # same parameter names as the two-step nearest
    g = Generator(32, 3, nz=8, width=8, upsample="nearest")
    assert set(g.state_dict()) == set(two_step.state_dict())
    g.load_state_dict(two_step.state_dict())
    z = torch.randn(4, 8)
    g.eval()
    expected = torch.nn.Sequential(*[_two_step(m) if isinstance(m, NearestResizeConv) else m for m in g.net])(
        z[:, :, None, None])
    torch.testing.assert_close(g(z), expected, rtol=1e-5, atol=1e-6)
