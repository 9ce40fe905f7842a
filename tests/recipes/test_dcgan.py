"""gancourse.recipes.dcgan: what one DCGAN step does, checked from the outside.

The step the course teaches (pytorch/examples' DCGAN): D is updated on a real batch and detached fakes, then G
against the updated D; D's update never moves G and G's never moves D. What recipes built on it change (labels,
extra loss terms, penalties) goes through small hooks, and the EMA of G follows G after every G update.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from gancourse.data import Batch
from gancourse.devices import seed_everything
from gancourse.ema import ema_beta
from gancourse.losses import get_loss
from gancourse.recipes import DCGAN, GANConfig, WGANConfig
from gancourse.recipes.cgan import CGANConfig

from ..helpers import BLOBS, tiny_dcgan

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blob_batch(n: int = 8, seed: int = 0) -> Batch:
    return BLOBS.stream(n, seed=seed).next()


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_losses_are_the_papers_d_on_real_and_detached_fakes_then_g_against_the_updated_d(fp32_steps):
    """loss_D = BCE(D(x), 1 - smoothing) + BCE(D(G(z)), 0); loss_G = BCE(D'(G(z)), 1) with D' after D's update."""
    recipe = tiny_dcgan(label_smoothing=0.1)
    twin = copy.deepcopy(recipe)  # the same weights and optimiser state: computed by hand below
    batch = blob_batch()
    torch.manual_seed(1)
    logs = recipe.step(batch)

    torch.manual_seed(1)
    fake = twin.G(torch.randn(len(batch.images), twin.config.nz))
    d_real, d_fake = twin.D(batch.images), twin.D(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9))
              + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    assert logs["loss_d"] == pytest.approx(loss_d.item(), rel=1e-5)
    assert logs["d_real"] == pytest.approx(torch.sigmoid(d_real).mean().item(), rel=1e-5)
    assert logs["d_fake"] == pytest.approx(torch.sigmoid(d_fake).mean().item(), rel=1e-5)
    stale = F.softplus(-twin.D(fake)).mean().item()  # G's loss against D before its update: not what G trains on
    twin.optimizers["D"].zero_grad()
    loss_d.backward()
    twin.optimizers["D"].step()
    loss_g = F.binary_cross_entropy_with_logits(d := twin.D(fake), torch.ones_like(d))  # non-saturating: -log D
    assert logs["loss_g"] == pytest.approx(loss_g.item(), rel=1e-5)
    assert logs["loss_g"] != pytest.approx(stale, rel=1e-3)
    assert logs["d_trained"] == 1.0 and recipe.extra_state["d_updates"] == 1


def test_ds_update_leaves_g_alone_and_gs_update_leaves_d_alone():
    recipe = tiny_dcgan()
    moved: list[tuple[str, bool, bool]] = []  # (optimiser, G moved, D moved) for each optimiser step
    for name, optimizer in recipe.optimizers.items():
        before: dict[str, list[torch.Tensor]] = {}

        def snapshot(opt, args, kwargs, before=before):
            before["G"], before["D"] = weights(recipe.G), weights(recipe.D)

        def compare(opt, args, kwargs, name=name, before=before):
            moved.append((name, not same(before["G"], weights(recipe.G)), not same(before["D"], weights(recipe.D))))

        optimizer.register_step_pre_hook(snapshot)
        optimizer.register_step_post_hook(compare)
    for seed in range(3):
        recipe.step(blob_batch(seed=seed))
    assert moved == [("D", False, True), ("G", True, False)] * 3  # D first, then G; each moves only itself


def test_ds_loss_sends_no_gradient_into_g():
    """The fakes D learns from are detached: in a step, G's weights get a gradient once, from G's own loss."""
    recipe = tiny_dcgan()
    arrivals = {"G": 0, "D": 0}
    for name in arrivals:
        first = next(recipe.modules[name].parameters())
        first.register_hook(lambda grad, name=name: arrivals.__setitem__(name, arrivals[name] + 1))
    recipe.step(blob_batch())
    assert arrivals == {"G": 1, "D": 2}  # D: from its loss, and from G's (G's gradient flows back through D)


class Spy(DCGAN):
    """DCGAN that records what the hooks receive and can draw every fake from one class."""

    def __init__(self, *args, one_class: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.one_class, self.calls = one_class, []

    def labels_of(self, batch):
        labels = super().labels_of(batch)
        self.calls.append(("labels_of", labels))
        return labels

    def fake_labels(self, labels):
        if self.one_class is None:
            return super().fake_labels(labels)
        return torch.full_like(labels, self.one_class)

    def judge(self, images, labels):
        self.calls.append(("judge", labels))
        return super().judge(images, labels)

    def d_terms(self, heads_real, heads_fake, labels, fake_labels, logs):
        self.calls.append(("d_terms", heads_real, heads_fake))
        return super().d_terms(heads_real, heads_fake, labels, fake_labels, logs)

    def g_terms(self, heads, fake, z, fake_labels, logs):
        self.calls.append(("g_terms", fake.shape, z.shape))
        return super().g_terms(heads, fake, z, fake_labels, logs)


def test_the_hooks_see_the_batchs_labels_for_real_images_and_fake_labels_for_fakes():
    seed_everything(0)
    recipe = Spy(DCGAN.config_for(BLOBS, nz=8, g_width=8, d_width=8, n_classes=4), one_class=2)
    batch = blob_batch()
    recipe.step(batch)
    names = [call[0] for call in recipe.calls]
    assert names == ["labels_of", "judge", "judge", "d_terms", "judge", "g_terms"]
    judged = [call[1] for call in recipe.calls if call[0] == "judge"]
    assert torch.equal(judged[0], batch.labels)  # D judges the real batch with its own labels
    assert all(torch.equal(labels, torch.full_like(batch.labels, 2)) for labels in judged[1:])  # fakes: class 2
    assert recipe.calls[3][1:] == (None, None)  # DCGAN's D has no class head
    assert recipe.calls[5][1:] == ((8, 1, 16, 16), (8, 8))


def test_an_unconditional_dcgan_ignores_the_batchs_labels():
    recipe = Spy(DCGAN.config_for(BLOBS, nz=8, g_width=8, d_width=8))  # config_for: n_classes 0 for DCGAN
    batch = blob_batch()
    assert batch.labels is not None
    recipe.step(batch)
    assert all(call[1] is None for call in recipe.calls if call[0] in ("labels_of", "judge"))


class Pulled(DCGAN):
    """DCGAN whose G also pays ``pull`` x the mean squared pixel (a term of its own, as cgan adds mode seeking)."""

    pull = 10.0

    def g_terms(self, heads, fake, z, fake_labels, logs):
        penalty = fake.float().square().mean()
        logs["pull"] = float(penalty.detach())
        return [*super().g_terms(heads, fake, z, fake_labels, logs), self.pull * penalty]


def twins(cls: type[DCGAN], **options) -> tuple[DCGAN, DCGAN]:
    """A plain DCGAN and a ``cls`` with the same initial weights and options."""
    plain = tiny_dcgan(**options)
    other = cls(plain.config)
    for name, module in plain.modules.items():
        other.modules[name].load_state_dict(module.state_dict())
    return plain, other


def step_both(a: DCGAN, b: DCGAN, seed: int = 1) -> tuple[dict, dict]:
    batch = blob_batch()
    torch.manual_seed(seed)
    logs_a = a.step(batch)
    torch.manual_seed(seed)
    return logs_a, b.step(batch)


def test_a_recipe_that_overrides_g_terms_changes_gs_loss_and_nothing_of_ds():
    plain, pulled = twins(Pulled)
    logs_plain, logs_pulled = step_both(plain, pulled)
    assert logs_pulled["pull"] > 0 and "pull" not in logs_plain
    assert logs_pulled["loss_d"] == logs_plain["loss_d"] and same(weights(plain.D), weights(pulled.D))
    assert not same(weights(plain.G), weights(pulled.G))  # G trained on its loss plus the term
    plain, unpulled = twins(type("Unpulled", (Pulled,), {"pull": 0.0}))
    step_both(plain, unpulled)  # a term weighted 0 trains exactly like DCGAN: the hook adds, it does not replace
    assert same(weights(plain.G), weights(unpulled.G))


def test_a_recipe_that_overrides_d_terms_adds_to_ds_loss():
    class Shifted(DCGAN):
        def d_terms(self, heads_real, heads_fake, labels, fake_labels, logs):
            return [sum(p.square().sum() for p in self.D.parameters())]  # weight decay on D, through the hook

    plain, shifted = twins(Shifted)
    logs_plain, logs_shifted = step_both(plain, shifted)
    assert logs_shifted["loss_d"] == logs_plain["loss_d"]  # the logged GAN loss is the same; D's update is not
    assert not same(weights(plain.D), weights(shifted.D))
    assert shifted.D.state_dict().keys() == plain.D.state_dict().keys()


def test_the_gate_skips_ds_update_but_g_and_its_ema_still_train():
    recipe = tiny_dcgan(d_gate=1e-6, ema=0.5)  # any G loss above a millionth of D's skips D's next update
    recipe.step(blob_batch(seed=0))
    d_before, ema_before = weights(recipe.D), weights(recipe.G_ema.model)
    logs = recipe.step(blob_batch(seed=1))
    assert logs["d_trained"] == 0.0 and (recipe.extra_state["d_updates"], recipe.extra_state["d_skipped"]) == (1, 1)
    assert same(d_before, weights(recipe.D))
    beta = ema_beta(0.5, 8)
    expected = [beta * e + (1 - beta) * g for e, g in zip(ema_before, weights(recipe.G), strict=True)]
    assert all(torch.allclose(e, a, atol=1e-6) for e, a in zip(expected, weights(recipe.G_ema.model), strict=True))


def test_the_ema_moves_once_per_step_after_gs_update():
    recipe = tiny_dcgan(ema=0.9)
    assert same(weights(recipe.G_ema.model), weights(recipe.G))  # it starts at G's initial weights
    beta = ema_beta(0.9, 8)
    for seed in range(3):
        ema_before = weights(recipe.G_ema.model)
        recipe.step(blob_batch(seed=seed))
        expected = [beta * e + (1 - beta) * g for e, g in zip(ema_before, weights(recipe.G), strict=True)]
        assert all(torch.allclose(e, a, atol=1e-6) for e, a in zip(expected, weights(recipe.G_ema.model),
                                                                    strict=True))
    plain = tiny_dcgan()
    assert recipe.sampling_generator is recipe.G_ema.model and plain.sampling_generator is plain.G


@pytest.mark.parametrize("options", [{}, {"diffaugment": "color,translation,cutout", "r1": 1.0, "r2": 1.0,
                                          "d_norm": "none", "loss": "relativistic", "ema": 0.9}])
def test_one_seed_gives_the_same_steps_bit_for_bit(options):
    def train() -> tuple[list[dict], dict]:
        seed_everything(3)
        recipe = tiny_dcgan(**options)
        seed_everything(3)  # the step draws its noise (and augmentations) from the global generator
        stream = BLOBS.stream(8, flip=True, seed=3)
        return [recipe.step(stream.next()) for _ in range(4)], recipe.state_dict()

    (logs_a, state_a), (logs_b, state_b) = train(), train()
    assert logs_a == logs_b
    for kind in ("modules", "optimizers"):
        flat_a, flat_b = flatten(state_a[kind]), flatten(state_b[kind])
        assert flat_a.keys() == flat_b.keys()
        assert all(torch.equal(flat_a[k], flat_b[k]) if torch.is_tensor(flat_a[k]) else flat_a[k] == flat_b[k]
                   for k in flat_a), kind
    assert state_a["extra"] == state_b["extra"]


def flatten(tree, prefix: str = "") -> dict:
    """A nested state dict as {"a.b.c": leaf}."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in flatten(sub, f"{prefix}{key}.").items()}
    if isinstance(tree, list | tuple):
        return {k: v for i, sub in enumerate(tree) for k, v in flatten(sub, f"{prefix}{i}.").items()}
    return {prefix: tree}


# -- the penalties (R1, R2, lazy) and the relativistic loss in the step -----------------------------------------------

def test_dcgan_r1_adds_half_gamma_times_the_penalty_to_d():
    torch.manual_seed(0)
    small = dict(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none")
    recipe = DCGAN(GANConfig(**small, r1=10.0))
    logs = recipe.step(Batch(torch.rand(8, 3, 16, 16) * 2 - 1, None))
    assert logs["r1"] > 0 and "r2" not in logs
    assert not {"r1", "r2"} & set(DCGAN(GANConfig(**small)).step(Batch(torch.zeros(8, 3, 16, 16), None)))
    with pytest.raises(ValueError, match="r1"):
        WGANConfig(r1=1.0)
    with pytest.raises(ValueError, match="r2"):
        WGANConfig(r2=1.0)
    with pytest.raises(ValueError, match="r1"):
        GANConfig(r1=-1.0)


def test_dcgan_adds_exactly_half_gamma_times_each_penalty_to_ds_gradient(fp32_steps):
    # Two copies from the same state take one D update on the same batch; the one with r1 = r2 = gamma must
    # end where plain SGD on loss_D + gamma/2 (R1 + R2) takes it: the penalties are added once, with gamma / 2.
    small = dict(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none", lr_d=0.1, beta1=0.0)
    real = torch.rand(8, 3, 16, 16) * 2 - 1
    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(**small, r1=4.0, r2=2.0, loss="relativistic"))
    recipe.optimizers["D"] = torch.optim.SGD(recipe.D.parameters(), lr=0.1)
    d_before = {k: v.clone() for k, v in recipe.D.state_dict().items()}
    torch.manual_seed(1)
    fake = recipe.G(recipe.noise(8)).detach()
    torch.manual_seed(1)
    logs = recipe.step(Batch(real, None))

    expected = DCGAN(GANConfig(**small))
    expected.D.load_state_dict(d_before)
    x, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    d_real, d_fake = expected.D(x), expected.D(f)
    loss = get_loss("relativistic").discriminator(d_real, d_fake)
    grads_r1 = torch.autograd.grad(d_real.sum(), x, create_graph=True)[0].flatten(1).pow(2).sum(1).mean()
    grads_r2 = torch.autograd.grad(d_fake.sum(), f, create_graph=True)[0].flatten(1).pow(2).sum(1).mean()
    assert logs["r1"] == pytest.approx(grads_r1.item(), rel=1e-4)
    assert logs["r2"] == pytest.approx(grads_r2.item(), rel=1e-4)
    (loss + 4.0 / 2 * grads_r1 + 2.0 / 2 * grads_r2).backward()
    for name, p in expected.D.named_parameters():
        assert torch.allclose(recipe.D.state_dict()[name], p.detach() - 0.1 * p.grad, atol=1e-6), name


def test_gradient_penalties_refuse_what_mixes_images_in_d():
    for mixing in (dict(d_norm="batch"), dict(d_norm="none", minibatch_std=True), dict(d_norm="none", pack=2)):
        with pytest.raises(ValueError, match="r1 and r2"):
            GANConfig(r1=1.0, **mixing)
        with pytest.raises(ValueError, match="r1 and r2"):
            GANConfig(r2=1.0, **mixing)
    for ok in ("none", "spectral", "layer"):
        GANConfig(r1=1.0, r2=1.0, d_norm=ok)
    CGANConfig(loss="relativistic", minibatch_std=False, r1=1.0, r2=1.0, d_norm="none")  # cgan shares DCGAN's step
    with pytest.raises(ValueError, match="label smoothing"):
        GANConfig(loss="relativistic", label_smoothing=0.1)


def test_relativistic_dcgan_step_trains_g_against_the_real_batch():
    torch.manual_seed(0)
    recipe = DCGAN(GANConfig(image_size=16, channels=3, nz=8, g_width=8, d_width=8, loss="relativistic"))
    before = [p.clone() for p in recipe.G.parameters()]
    logs = recipe.step(Batch(torch.rand(8, 3, 16, 16) * 2 - 1, None))
    assert logs["loss_g"] > 0 and logs["loss_d"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, recipe.G.parameters(), strict=True))


def test_lazy_penalties_apply_on_every_kth_d_update_weighted_k_times():
    # StyleGAN2's lazy regularisation: with penalty_every = 3, D's updates 0, 3, 6, ... carry 3 x gamma / 2 x R1
    # and the others none; each must equal the update of an eager twin from the same state.
    def twin(recipe: DCGAN, **changes) -> DCGAN:
        other = copy.deepcopy(recipe)
        other.config = dataclasses.replace(recipe.config, **changes)
        return other

    small = dict(image_size=16, channels=3, nz=8, g_width=8, d_width=8, d_norm="none")
    batch = Batch(torch.rand(8, 3, 16, 16) * 2 - 1, None)
    torch.manual_seed(0)
    lazy = DCGAN(GANConfig(**small, r1=4.0, penalty_every=3))
    for step in range(5):
        penalised = step % 3 == 0
        eager = twin(lazy, r1=12.0 if penalised else 0.0, penalty_every=1)
        torch.manual_seed(step)
        logs = lazy.step(batch)
        torch.manual_seed(step)
        eager.step(batch)
        for (name, p), q in zip(lazy.D.named_parameters(), eager.D.parameters(), strict=True):
            assert torch.allclose(p, q, atol=1e-6), (step, name)
        assert logs["r1"] > 0  # the last value measured, on the lazy steps too
    assert lazy.extra_state["d_updates"] == 5
    with pytest.raises(ValueError, match="penalty_every"):
        GANConfig(penalty_every=0)
