"""``gancourse download inception|all`` and ``gancourse doctor``: every command they recommend works."""

from __future__ import annotations

import hashlib
import shlex
import shutil
from pathlib import Path

import pytest

from gancourse.cli import build_parser, main
from gancourse.cli import download as cli_download
from gancourse.cli.options import parse_assignments
from gancourse.course import doctor
from gancourse.data import DATASETS, download_command
from gancourse.metrics import inception

from ..data.test_data import serve_dataset

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


pytestmark = pytest.mark.usefixtures("fresh_network_memory")


def check_command(command: str) -> None:
    """The command parses as the CLI does and its options are ones the download accepts."""
    words = shlex.split(command)
    assert words[0] == "gancourse"
    args = build_parser().parse_args(words[1:])
    assert args.command == "download"
    if args.dataset in DATASETS:
        spec = DATASETS[args.dataset]
        options = parse_assignments(args.data_option, "--data-option")
        assert set(options) <= set(spec.options) | set(spec.download_options), command
        assert spec.download is not None, command


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_dataset_has_a_download_command_that_works(name):
    examples = {"wikiart": {"style": "Impressionism", "artist": ["alfred-sisley", "berthe-morisot"], "size": 64},
                "quickdraw": {"categories": "apple,cat", "max_per_class": 5000}}
    command = download_command(name, examples.get(name, {}))
    check_command(command)
    if name == "wikiart":
        assert "style=Impressionism" in command and "artist=alfred-sisley,berthe-morisot" in command
        assert "size" not in command  # loader options that do not change the download stay out


def test_doctor_lists_each_notebook_real_stand_in_or_missing_with_sizes(tmp_data_root, monkeypatch):
    monkeypatch.setattr("torch.hub.get_dir", lambda: str(tmp_data_root / "no-hub"))
    if (SHARED / "wikiart" / "Impressionism").is_dir():
        shutil.copytree(SHARED / "wikiart" / "Impressionism", tmp_data_root / "wikiart" / "Impressionism")
        wikiart_real = True
    else:
        wikiart_real = False
    checks = {c.name: c for c in doctor.data_checks(tmp_data_root)}
    assert set(doctor.NOTEBOOK_DATA) == {n.split(":")[0] for n in checks if n[:2].isdigit()}
    assert checks["02_wikiart_dcgan: wikiart"].ok == wikiart_real
    mnist = checks["01_mnist_dcgan: mnist"]
    assert not mnist.ok and "downloaded on the notebook's first run" in mnist.detail and "11 MB" in mnist.advice
    assert "291 MB" in checks["06_monet_cyclegan: monet2photo"].advice
    for check in checks.values():
        for command in check.advice.split("`")[1::2]:
            check_command(command)
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    offline = {c.name: c for c in doctor.data_checks(tmp_data_root)}
    assert "STAND-IN" in offline["07_hyperparameter_sweeps: fashion-mnist"].detail
    assert "gancourse download inception" in offline["inception FID (02, 06)"].advice


def serve_inception(http_server, monkeypatch) -> bytes:
    data = b"not really weights, but checksummed bytes" * 100
    http_server.write("fid_weights/w.pth", data)
    monkeypatch.setattr(inception, "WEIGHTS_URL", http_server.url_for("fid_weights/w.pth"))
    monkeypatch.setattr(inception, "WEIGHTS_SHA256_PREFIX", hashlib.sha256(data).hexdigest()[:8])
    return data


def test_download_inception_command(tmp_data_root, http_server, monkeypatch, capsys):
    data = serve_inception(http_server, monkeypatch)
    assert main(["download", "inception"]) == 0
    assert (tmp_data_root / "inception" / inception.WEIGHTS_NAME).read_bytes() == data
    assert "inception is in" in capsys.readouterr().out
    assert main(["download", "inception", "--data-option", "x=1"]) == 2


def test_download_all_fetches_everything_and_goes_on_after_a_failure(tmp_data_root, http_server, monkeypatch,
                                                                       capsys):
    serve_dataset(http_server, "mnist", monkeypatch)
    serve_dataset(http_server, "fashion-mnist", monkeypatch)
    serve_inception(http_server, monkeypatch)
    monkeypatch.setattr(inception, "WEIGHTS_URL", http_server.url_for("no/such/file.pth"))  # this one fails
    plan = [(what, options) for what, options in cli_download.course_downloads()
            if what in ("mnist", "fashion-mnist", "inception")]
    assert [w for w, _ in cli_download.course_downloads()] == ["mnist", "fashion-mnist", "quickdraw", "wikiart",
                                                                "monet2photo", "inception"]
    monkeypatch.setattr(cli_download, "course_downloads", lambda: plan)
    assert main(["download", "all"]) == 1
    err = capsys.readouterr().err
    assert "inception: FAILED" in err and "404" in err
    assert (tmp_data_root / "mnist").is_dir() and (tmp_data_root / "fashion-mnist").is_dir()
    serve_inception(http_server, monkeypatch)
    assert main(["download", "all"]) == 0
    assert "everything the course uses is in place" in capsys.readouterr().out


def test_download_quickdraw_without_categories_fetches_the_course_ones(tmp_path, monkeypatch):
    """The README's `gancourse download quickdraw` works as written: no categories = notebook 05's ten."""
    from gancourse.data import quickdraw

    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    asked = []
    monkeypatch.setattr(quickdraw, "fetch_npy_rows", lambda url, path, rows, progress=True: asked.append((url, rows)))
    assert main(["download", "quickdraw", "--root", str(tmp_path)]) == 0
    names = [url.rsplit("/", 1)[-1].removesuffix(".npy") for url, _ in asked]
    assert names == list(quickdraw.STAND_IN_CATEGORIES)
    assert {rows for _, rows in asked} == {quickdraw.TEST_PER_CLASS + quickdraw.COURSE_MAX_PER_CLASS}
