"""Will this configuration fit in memory? An estimate from the config, made before anything big is built.

How the estimate is made: the recipe's networks are built from the config on PyTorch's ``meta`` device
(shapes without storage: no memory, no arithmetic, a fraction of a second even for a 2-billion-parameter
generator), and one forward pass of each network on a batch of ``PROBE_BATCH`` images gives, layer by
layer, the bytes of the tensors the layers return. A training step runs each network a known number of
times (:func:`passes_per_step`: G once and D three times in DCGAN, each CycleGAN generator three times,
...); those passes, per image, times ``CALIBRATION`` of the recipe, times the batch size, plus the
parameters with their gradients and two Adam moments (``PARAMETER_COPIES``) and the EMA copies of the
generators, is the estimate.

``CALIBRATION`` maps this estimate onto :func:`probe`, the older, slower reference that runs one real
training step of a copy of the recipe and adds up the same layer outputs; the probe itself was checked
against the peak RSS (docs/performance.md, "Figures behind code choices"). The guard exists to refuse
configurations that are off by several times (CycleGAN at 256 px and batch 64 on a laptop), not to pack a
batch to the megabyte.

The free memory is ``torch.cuda.mem_get_info`` on a GPU; on a CPU the smallest of the system's available
memory (psutil, else ``/proc/meminfo``), the room under this process's cgroup limits (v2, nested ones
included, as under Slurm; or v1) and the room under its address-space limit (``ulimit -v``, RLIMIT_AS).
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from ..data import ImageSet
from ..devices import rng_state, set_rng_state
from ..errors import NotEnoughMemory
from ..models import FastDiscriminator
from ..recipes import WGAN, CycleGAN, build_recipe

PROBE_BATCH = 2  # two images, not one: batch statistics (BatchNorm, minibatch std) need two
PARAMETER_COPIES = 4  # weights, gradients, Adam's two moments
GB = 1024 ** 3
# probe() / estimate() per image: the same for every recipe (same layers, same passes), so 1; a recipe whose step
# changes shows up in test_memory.py, which compares the two.
CALIBRATION = {"dcgan": 1.0, "cgan": 1.0, "acgan": 1.0, "wgan": 1.0, "wgan-gp": 1.0, "cyclegan": 1.0, "fastgan": 1.0}
NO_LIMIT = 2 ** 60  # cgroup v1 writes "no limit" as a number near 2**63
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True)
class MemoryEstimate:
    per_image: int  # activation bytes of one image in a training step, backward included
    fixed: int  # parameters, gradients and optimiser state
    batch_size: int

    @property
    def total(self) -> int:
        return self.per_image * self.batch_size + self.fixed

    def largest_batch(self, available: int) -> int:
        return max(0, (available - self.fixed) // max(self.per_image, 1))


def _tensor_bytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    return 0


@contextlib.contextmanager
def _counting_layer_outputs(networks: list[nn.Module]) -> Iterator[list[int]]:
    """Forward hooks on every leaf layer of ``networks``; the yielded one-item list holds the bytes they returned."""
    total = [0]

    def count(module: nn.Module, inputs, output) -> None:
        total[0] += _tensor_bytes(output)

    handles = [m.register_forward_hook(count) for net in networks for m in net.modules() if not list(m.children())]
    try:
        yield total
    finally:
        for handle in handles:
            handle.remove()


# -- the estimate from the config ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _shapes_only() -> Iterator[None]:
    """``torch.nn.init`` and spectral norm's power iteration as no-ops: a meta tensor has no values to fill or to
    iterate on, and on meta each of those ops costs a millisecond of Python (seconds for a spectral-norm D at
    256 px; PyTorch's first random fill of a meta tensor also imports its compiler stack)."""
    from torch.nn.utils import parametrizations

    names = [n for n in dir(nn.init) if n.endswith("_") and not n.startswith("_")]
    saved = {n: getattr(nn.init, n) for n in names}
    spectral = getattr(parametrizations, "_SpectralNorm", None)
    power_method = getattr(spectral, "_power_method", None)
    try:
        for name in names:
            setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
        if power_method is not None:
            spectral._power_method = lambda self, weight_mat, n_power_iterations: None
        yield
    finally:
        for name, function in saved.items():
            setattr(nn.init, name, function)
        if power_method is not None:
            spectral._power_method = power_method


def shape_only_recipe(recipe: str, config):
    """The recipe built from ``config`` on the meta device: every layer and parameter shape, no storage."""
    meta = torch.device("meta")
    with meta, _shapes_only():
        return build_recipe(recipe, config, meta)


def passes_per_step(recipe) -> dict[str, int]:
    """How many forward passes of each network one training step of ``recipe`` runs (what :func:`probe` sums)."""
    c = recipe.config
    if isinstance(recipe, CycleGAN):  # fake, cycle (and identity) per generator; real, fake, fake for G per D
        generator = 3 if c.lambda_identity else 2
        return {"G_AB": generator, "G_BA": generator, "D_A": 3, "D_B": 3}
    if isinstance(recipe, WGAN):  # n_critic x (fakes, critic on real, on fake, on interpolates), then G's update
        track = 1 if c.track_grad_norm else 0
        return {"G": c.n_critic + 1 + track,
                "D": c.n_critic * (2 + (1 if c.gp_weight else 0)) + 1 + track}
    relativistic = 1 if getattr(recipe.loss, "relativistic", False) else 0
    return {"G": 1, "D": 3 + relativistic}  # fakes; D on real, on detached fakes, on fakes for G


def _network_inputs(network: nn.Module, config, batch: int) -> tuple:
    """A batch of meta inputs for one of the course's networks: noise for a DCGAN generator, images otherwise."""
    meta = torch.device("meta")
    n_classes = getattr(network, "n_classes", 0) or int(getattr(config, "n_classes", 0) or 0)
    labels = torch.zeros(batch, dtype=torch.long, device=meta) if n_classes else None
    if hasattr(network, "nz"):
        return (torch.empty(batch, network.nz, device=meta), labels)
    images = torch.empty(batch, config.channels, config.image_size, config.image_size, device=meta)
    return (images, labels) if getattr(network, "embed", None) is not None else (images,)


def layer_bytes_per_image(recipe) -> dict[str, int]:
    """Bytes the layers of each network of ``recipe`` (built on any device) return for one image, one pass."""
    batch = PROBE_BATCH * max(1, int(getattr(recipe.config, "pack", 1) or 1))  # PacGAN judges packs of images
    per_image = {}
    for name, network in recipe.modules.items():
        meta = network if next(network.parameters()).device.type == "meta" else copy.deepcopy(network).to("meta")
        inputs = _network_inputs(meta, recipe.config, batch)
        with _counting_layer_outputs([meta]) as total, torch.no_grad(), _shapes_only():
            meta(*inputs)
        per_image[name] = total[0] // batch
        if isinstance(meta, FastDiscriminator) and recipe.config.reconstruction:  # fastgan's D redraws the reals:
            with _counting_layer_outputs([meta]) as total, torch.no_grad(), _shapes_only():  # one pass, real only
                meta(*inputs, with_reconstruction=True)
            per_image[f"{name} redrawing"] = total[0] // batch - per_image[name]
    return per_image


def estimate(recipe: str, config, batch_size: int) -> MemoryEstimate:
    """The memory one training step of ``recipe`` with ``config`` needs at ``batch_size``, nothing built for real."""
    shapes = shape_only_recipe(recipe, config)
    layers = layer_bytes_per_image(shapes)
    passes = passes_per_step(shapes)
    per_image = CALIBRATION.get(recipe, 1.0) * sum(passes.get(name, 1) * b for name, b in layers.items())
    parameters = sum(p.numel() * p.element_size() for m in shapes.modules.values() for p in m.parameters())
    return MemoryEstimate(int(per_image), PARAMETER_COPIES * parameters + _averaged_copies(shapes), batch_size)


def _averaged_copies(recipe) -> int:
    """Bytes of the EMA copies of the generators (``ema``): one more copy of their weights, no gradients."""
    averages = list(getattr(recipe, "averages", {}).values())
    if getattr(recipe, "G_ema", None) is not None:
        averages.append(recipe.G_ema)
    return sum(p.numel() * p.element_size() for average in averages for p in average.model.parameters())


# -- the reference it is calibrated against ----------------------------------------------------------------------



def activation_bytes(recipe, data: ImageSet, batch: int = PROBE_BATCH) -> int:
    """Bytes returned by the layers of ``recipe``'s networks in one real training step on ``batch`` images.

    The step runs on a deep copy, with every RNG saved and restored: ``recipe`` and the run are untouched.
    """
    probe_copy = copy.deepcopy(recipe)
    saved = rng_state()
    try:
        with _counting_layer_outputs(list(probe_copy.modules.values())) as total:
            probe_copy.train()
            probe_copy.step(data.stream(batch, probe_copy.device, seed=0).next())
    finally:
        set_rng_state(saved)
    return total[0]


def probe(recipe, data: ImageSet, batch_size: int) -> MemoryEstimate:
    """The slow reference: one real step of a built ``recipe`` (needs its memory; seconds to a minute at 256 px)."""
    batch = max(1, min(PROBE_BATCH, len(data)))
    per_image = activation_bytes(recipe, data, batch) // batch
    parameters = sum(p.numel() * p.element_size() for m in recipe.modules.values() for p in m.parameters())
    return MemoryEstimate(per_image, PARAMETER_COPIES * parameters + _averaged_copies(recipe), batch_size)


# -- how much there is ---------------------------------------------------------------------------------------------

def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _read_number(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2's no limit) and anything unreadable: None


def _own_cgroups(proc_cgroup: Path) -> dict[str, str]:
    """This process's cgroup paths: {"v2": path} from the ``0::`` line, {"v1": path} from the memory controller's."""
    found = {}
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            found["v2"] = parts[2]
        elif "memory" in parts[1].split(","):
            found["v1"] = parts[2]
    return found


def _up_to(mount: Path, path: str) -> Iterator[Path]:
    """``mount/path`` and each folder above it up to ``mount`` (a path not visible here, as inside a cgroup
    namespace, starts at ``mount``)."""
    folder = mount / path.strip("/")
    while folder != mount and not folder.is_dir():
        folder = folder.parent
    while True:
        yield folder
        if folder == mount:
            return
        folder = folder.parent


def cgroup_room(root: Path | None = None, proc_cgroup: Path | None = None) -> int | None:
    """What this process's cgroups still allow: the smallest limit - usage over its cgroup and every cgroup above
    it (v2: memory.max - memory.current; v1: memory.limit_in_bytes - memory.usage_in_bytes), None without a limit.

    ``root``: where the cgroup file system is mounted (``CGROUP_ROOT``); ``proc_cgroup``: ``/proc/self/cgroup``.
    """
    root = CGROUP_ROOT if root is None else root
    own = _own_cgroups(PROC_CGROUP if proc_cgroup is None else proc_cgroup)
    rooms = []
    layouts = [("v2", root, "memory.max", "memory.current"),
               ("v1", root / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes")]
    for version, mount, limit_file, usage_file in layouts:
        if version not in own or not mount.is_dir():
            continue
        for folder in _up_to(mount, own[version]):
            limit, used = _read_number(folder / limit_file), _read_number(folder / usage_file)
            if limit is not None and limit < NO_LIMIT:
                rooms.append(max(0, limit - (used or 0)))
    return min(rooms) if rooms else None


def _virtual_size() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def address_space_room() -> int | None:
    """Room under RLIMIT_AS (``ulimit -v``): its soft limit less this process's virtual size; None without one."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    return max(0, soft - _virtual_size())


def system_available() -> int | None:
    """The machine's available memory (free plus reclaimable caches), or None when it cannot be told."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return _meminfo_available()


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Free memory on ``device`` now, or None when it cannot be told."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":  # mps shares the system memory, but without a reliable figure
        return None
    limits = (cgroup_room(), address_space_room()) if os.name == "posix" else ()
    known = [x for x in (system_available(), *limits) if x is not None]
    return min(known) if known else None


def check_memory(recipe: str, config, batch_size: int, device: torch.device | str) -> MemoryEstimate | None:
    """Refuse (``NotEnoughMemory``) a configuration whose estimate exceeds the free memory of ``device``.

    Runs before the networks are built, so a configuration far too big is refused in one line, not by the
    operating system in the middle of building it.
    """
    device = torch.device(device)
    try:
        found = estimate(recipe, config, batch_size)
    except (NotImplementedError, RuntimeError) as exc:  # a layer the meta device cannot run: no guard, no crash
        print(f"[gancourse] memory not estimated ({type(exc).__name__}: {exc}); training without the check",
              file=sys.stderr)
        return None
    available = available_bytes(device)
    if available is not None and found.total > available:
        fits = found.largest_batch(available)
        size = config.image_size
        if fits:
            lower = f"lower --batch-size (at most {fits} fits)"
        elif found.fixed > available:
            lower = (f"its networks alone need {found.fixed / GB:.1f} GB with their gradients and optimiser state: "
                     "lower their width (e.g. --set g_width=..., d_width=..., ngf=..., ndf=...)")
        else:
            lower = (f"even --batch-size 1 does not fit: lower the image size ({size} px now; e.g. --data-option "
                     f"size={max(16, size // 2)}) or the networks' width")
        raise NotEnoughMemory(
            f"this configuration needs about {found.total / GB:.1f} GB ({found.per_image / GB:.2f} GB per image "
            f"at {size} px, batch size {batch_size}) but {device.type} has {available / GB:.1f} GB free: "
            f"{lower}.")
    return found
