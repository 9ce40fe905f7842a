"""Quality per wall-clock second on a CPU: the PyTorch DCGAN tutorial pipeline vs notebook 01's configuration.

Both are trained for the same number of seconds on real MNIST, one after the other on the same machine,
then scored by the same judge (gancourse.metrics) on the same number of samples. The tutorial's 64 px
samples are shrunk to 28 px by area averaging (antialiased) before scoring; the FID of real MNIST sent
through the same 28 -> 64 -> 28 round trip is printed as that pipeline's own floor.

    GANCOURSE_DATA=../shared/data python benchmarks/dcgan_vs_tutorial.py              # 2 x 300 s
    GANCOURSE_DATA=../shared/data python benchmarks/dcgan_vs_tutorial.py --seconds 20  # quick check

(a) "tutorial" reproduces the official DCGAN tutorial (pytorch.org/tutorials/beginner/dcgan_faces_tutorial)
    and pytorch/examples dcgan/main.py with ``--dataset mnist``: torchvision ``datasets.MNIST`` with per-sample
    ``Resize(64)``, ``ToTensor``, ``Normalize((0.5,), (0.5,))`` through a ``DataLoader`` (batch 128, shuffle,
    2 workers), nz = 100, ngf = ndf = 64, N(0, 0.02) init, a sigmoid D with ``BCELoss``, Adam 2e-4,
    betas (0.5, 0.999), D updated on real then fake, then G on the same fake batch.
(b) "ours" is ``gancourse.engine.experiment.train`` with notebook 01's defaults (``GANConfig`` defaults and the
    batch size below) and ``time_budget``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gancourse.checkpoints import load_generator
from gancourse.data import load_dataset
from gancourse.data.idx import FILES, find_file
from gancourse.engine.experiment import train
from gancourse.engine.spec import RunSpec
from gancourse.metrics import evaluator_for
from gancourse.paths import data_root

# Notebook 01's configuration: the GANConfig defaults plus this batch size (the notebook's `batch_size`). The
# options train() would otherwise fill in for MNIST (the 2018 discriminator) are spelled out at GANConfig's values.
OURS_BATCH_SIZE = 64
OURS_OPTIONS = {"d_norm": "batch", "beta1": 0.5, "lr_g": 2e-4, "lr_d": 2e-4, "ema": 0.0}

# The tutorial's settings (dcgan_faces_tutorial.py; pytorch/examples dcgan/main.py for MNIST).
TUTORIAL = dict(image_size=64, nz=100, ngf=64, ndf=64, batch_size=128, lr=2e-4, beta1=0.5, workers=2, seed=999)


# ---- (a) the tutorial, reproduced -------------------------------------------------------------------------

class TutorialGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 1) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class TutorialDiscriminator(nn.Module):
    def __init__(self, ndf: int = 64, nc: int = 1) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


def tutorial_weights_init(m: nn.Module) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def torchvision_mnist_root(tmp: Path) -> Path:
    """A torchvision-layout root (``<tmp>/MNIST/raw/``) built from the files under $GANCOURSE_DATA.

    torchvision reads the *uncompressed* IDX files from ``raw/`` when ``download=False``.
    """
    raw = tmp / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stems in FILES.values():
        for stem in stems:
            source = find_file(data_root(), "mnist", stem)
            if source is None:
                raise SystemExit(f"MNIST file {stem}(.gz) not found under {data_root()}: set GANCOURSE_DATA "
                                 "to a folder holding mnist/ (e.g. ../shared/data)")
            if source.suffix == ".gz":
                with gzip.open(source, "rb") as f_in, open(raw / stem, "wb") as f_out:
                    shutil.copyfileobj(f_in, f_out)
            else:
                (raw / stem).symlink_to(source.resolve())
    return tmp


def train_tutorial(root: Path, seconds: float) -> dict:
    import torchvision.datasets as dset
    import torchvision.transforms as transforms

    t = TUTORIAL
    torch.manual_seed(t["seed"])
    dataset = dset.MNIST(root=str(root), download=False, transform=transforms.Compose([
        transforms.Resize(t["image_size"]),
        transforms.ToTensor(),
        transforms.Normalize((0.5,), (0.5,)),
    ]))
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=t["batch_size"], shuffle=True,
                                             num_workers=t["workers"])
    netG, netD = TutorialGenerator(t["nz"], t["ngf"]), TutorialDiscriminator(t["ndf"])
    netG.apply(tutorial_weights_init)
    netD.apply(tutorial_weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=t["lr"], betas=(t["beta1"], 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=t["lr"], betas=(t["beta1"], 0.999))

    steps = images = 0
    start = time.perf_counter()
    done = False
    while not done:
        for data in dataloader:
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            real_cpu = data[0]
            b_size = real_cpu.size(0)
            label = torch.full((b_size,), real_label, dtype=torch.float)
            output = netD(real_cpu).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            noise = torch.randn(b_size, t["nz"], 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            optimizerD.step()
            # (2) Update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            optimizerG.step()
            steps += 1
            images += b_size
            if time.perf_counter() - start >= seconds:
                done = True
                break
    elapsed = time.perf_counter() - start
    return {"G": netG, "steps": steps, "images": images, "seconds": elapsed,
            "loss_d": (errD_real + errD_fake).item(), "loss_g": errG.item()}


@torch.no_grad()
def tutorial_samples(netG: nn.Module, n: int, train_mode: bool, seed: int = 4321) -> torch.Tensor:
    """n samples shrunk to 28 px by area averaging. ``train_mode``: batch statistics, as the tutorial draws."""
    netG.train(train_mode)
    g = torch.Generator().manual_seed(seed)
    chunks = []
    for k in torch.arange(n).split(TUTORIAL["batch_size"]):
        z = torch.randn(len(k), TUTORIAL["nz"], 1, 1, generator=g)
        chunks.append(F.interpolate(netG(z), size=28, mode="area"))
    return torch.cat(chunks).clamp(-1, 1)


# ---- (b) ours ---------------------------------------------------------------------------------------------

def train_ours(out: Path, seconds: float, progress: bool) -> dict:
    spec = RunSpec("mnist", "dcgan", recipe_options=OURS_OPTIONS, batch_size=OURS_BATCH_SIZE, seed=0,
                   time_budget=seconds, evaluate=False)
    result = train(spec, out=out, progress=progress)
    return {"G": load_generator(result.run.generator_path), "steps": result.step,
            "images": result.step * OURS_BATCH_SIZE, "seconds": result.wall_time}


@torch.no_grad()
def our_samples(generator: nn.Module, n: int, seed: int = 4321) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.cat([generator(torch.randn(len(k), generator.nz, generator=g)) for k in torch.arange(n).split(500)])


# ---- the comparison ---------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} with {torch.get_num_threads()} "
            f"threads, Python {platform.python_version()}{load}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training wall-clock seconds for each")
    parser.add_argument("--samples", type=int, default=2000, help="samples scored per model (and real images)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--progress", action="store_true", help="show our progress bar")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.samples < 100:
        parser.error("--seconds must be > 0 and --samples >= 100")
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"machine: {machine()}", flush=True)
    data = load_dataset("mnist", "train")  # real data only: a stand-in would make the comparison meaningless
    evaluator = evaluator_for(data, n=args.samples, progress=args.progress)  # trains or loads the judge first
    with tempfile.TemporaryDirectory(prefix="gancourse-bench-") as tmp:
        tmp = Path(tmp)
        root = torchvision_mnist_root(tmp / "torchvision")
        print(f"(a) tutorial pipeline: training {args.seconds:.0f} s ...", flush=True)
        tut = train_tutorial(root, args.seconds)
        print(f"(b) ours (notebook 01): training {args.seconds:.0f} s ...", flush=True)
        ours = train_ours(tmp / "ours", args.seconds, args.progress)

    # Real images sent through the tutorial's 28 -> 64 -> 28 px round trip: the best the tutorial could score.
    import torchvision.transforms.functional as TF

    real, _ = data.rows(torch.arange(evaluator.n))
    up = TF.resize(real, [64, 64], antialias=True).float().div(127.5).sub(1.0)
    round_trip = evaluator.score(F.interpolate(up, size=28, mode="area"))["fid"]

    scores_ours = evaluator.score(our_samples(ours["G"], evaluator.n))
    tut_eval = evaluator.score(tutorial_samples(tut["G"], evaluator.n, train_mode=False))
    tut_train = evaluator.score(tutorial_samples(tut["G"], evaluator.n, train_mode=True))
    scores_tut = min(tut_eval, tut_train, key=lambda s: s["fid"])  # the baseline gets the better of the two

    floor = scores_ours["fid_floor"]
    rows = [("tutorial (64 px, DataLoader)", tut, scores_tut), ("ours (notebook 01, 28 px)", ours, scores_ours)]
    print(f"\nFID by the gancourse judge on {evaluator.n} samples vs {evaluator.n} real test images "
          f"(real-vs-real floor {floor:.2f}; tutorial round-trip floor {round_trip:.2f})")
    print(f"{'pipeline':30s} {'steps':>7s} {'train s':>8s} {'img/s':>8s} {'FID':>9s} {'prec':>5s} {'recall':>6s} "
          f"{'modes':>5s}")
    for name, run, s in rows:
        print(f"{name:30s} {run['steps']:7d} {run['seconds']:8.1f} {run['images'] / run['seconds']:8.1f} "
              f"{s['fid']:9.2f} {s['precision']:5.2f} {s['recall']:6.2f} {s.get('modes', 0):5.0f}")
    print(f"tutorial FID with G in eval mode {tut_eval['fid']:.2f}, in train mode (batch statistics) "
          f"{tut_train['fid']:.2f}; the better one is shown")
    ratio = scores_tut["fid"] / max(scores_ours["fid"], 1e-9)
    speed = (ours["images"] / ours["seconds"]) / (tut["images"] / tut["seconds"])
    print(f"FID ratio tutorial/ours: {ratio:.1f}x (target >= 10x: {'met' if ratio >= 10 else 'NOT met'}); "
          f"training images/s ours/tutorial: {speed:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
