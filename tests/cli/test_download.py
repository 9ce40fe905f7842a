"""``gancourse download inception|all`` and ``gancourse doctor``: every command they recommend works."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import pytest

from gancourse.cli import build_parser, main
from gancourse.cli import download as cli_download
from gancourse.cli.options import parse_assignments
from gancourse.course import doctor
from gancourse.course.notebooks import COURSE
from gancourse.data import DATASETS, download_command
from gancourse.metrics import inception

from ..data.test_data import serve_dataset
from ..helpers import all_files

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


pytestmark = pytest.mark.usefixtures("fresh_network_memory")


def check_command(command: str) -> None:
    """The command parses as the CLI does and its options are ones the download accepts."""
    words = shlex.split(command)
    assert words[0] == "gancourse"
    args = build_parser(words[1:]).parse_args(words[1:])
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
    assert {entry.name for entry in COURSE} == {n.split(":")[0] for n in checks if n[:2].isdigit()}
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
    monkeypatch.setattr(inception, "WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(inception, "WEIGHTS_SIZE", len(data))
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


def test_download_all_to_a_folder_lists_it_for_a_mirror(tmp_path, http_server, monkeypatch, capsys):
    from gancourse.data import course_mirror

    served = serve_dataset(http_server, "mnist", monkeypatch)
    data = serve_inception(http_server, monkeypatch)
    monkeypatch.setattr(cli_download, "course_downloads", lambda: [("mnist", {}), ("inception", {})])
    prepared = tmp_path / "class-data"
    assert main(["download", "all", "--to", str(prepared)]) == 0
    assert "GANCOURSE_MIRROR=" in capsys.readouterr().out
    listed = json.loads((prepared / course_mirror.MANIFEST).read_text())["files"]
    assert listed[f"inception/{inception.WEIGHTS_NAME}"] == {"size": len(data),
                                                             "sha256": hashlib.sha256(data).hexdigest()}
    assert {f"mnist/{name}" for name in served} <= set(listed)
    before = len(http_server.requests)
    monkeypatch.setenv("GANCOURSE_DATA", str(prepared))  # a student on the shared folder
    assert main(["download", "all"]) == 0
    assert len(http_server.requests) == before  # zero requests


@pytest.fixture
def class_mirror(tmp_path, http_server, second_server, monkeypatch):
    """An instructor's prepared data root served by a plain HTTP server; the 'public' hosts are elsewhere."""
    from gancourse.data import course_mirror

    prepared = http_server.root / "course"
    files = {"mnist/t10k-labels-idx1-ubyte.gz": b"labels", "wikiart/Impressionism/a_1.jpg": b"\xff\xd8one",
             "wikiart/Impressionism/b_2.jpg": b"\xff\xd8two", "monet2photo/trainA/1.jpg": b"\xff\xd8m",
             "wikiart/.download/state.json": b"{}", f"inception/{inception.WEIGHTS_NAME}": b"weights"}
    for path, data in files.items():
        (prepared / path).parent.mkdir(parents=True, exist_ok=True)
        (prepared / path).write_bytes(data)
    course_mirror.write_manifest(prepared)
    monkeypatch.setenv("GANCOURSE_MIRROR", http_server.url_for("course"))
    monkeypatch.setenv("HF_ENDPOINT", second_server.url.rstrip("/"))  # the Hub: must get no request
    monkeypatch.setattr(inception, "WEIGHTS_URL", second_server.url_for("w.pth"))
    return files


def test_a_class_mirror_serves_students_with_no_public_request(class_mirror, tmp_data_root, http_server,
                                                               second_server, monkeypatch, capsys):
    for what in ("wikiart", "monet2photo", "inception", "mnist"):
        assert main(["download", what]) == 0
    for path, data in class_mirror.items():
        if ".download" not in path:
            assert (tmp_data_root / path).read_bytes() == data
    assert not (tmp_data_root / "wikiart" / ".download").exists()  # hidden state is not mirrored
    assert second_server.requests == []
    before = len(http_server.requests)
    assert main(["download", "wikiart"]) == 0  # a second run: the manifest only
    assert [p for _, p, _ in http_server.requests[before:]] == ["course/gancourse-mirror.json"]
    assert main(["download", "quickdraw"]) == 2  # the instructor did not prepare it: one line, exit 2
    assert "has no quickdraw" in capsys.readouterr().err
    (tmp_data_root / "wikiart" / "Impressionism" / "a_1.jpg").unlink()
    (http_server.root / "course" / "wikiart" / "Impressionism" / "a_1.jpg").write_bytes(b"\xff\xd8owt")
    assert main(["download", "wikiart"]) == 2  # a file that changed on the mirror is refused
    assert "SHA-256" in capsys.readouterr().err
    assert not (tmp_data_root / "wikiart" / "Impressionism" / "a_1.jpg").exists()


def test_a_notebooks_own_download_goes_to_the_class_mirror_too(class_mirror, tmp_data_root, second_server):
    """load_dataset's automatic download (what a notebook's first run does) uses $GANCOURSE_MIRROR as well."""
    from gancourse.data import download_dataset

    assert download_dataset("monet2photo") == tmp_data_root
    assert (tmp_data_root / "monet2photo/trainA/1.jpg").read_bytes() == class_mirror["monet2photo/trainA/1.jpg"]
    assert second_server.requests == []


@pytest.mark.parametrize("what", [*sorted(DATASETS), "inception"])
def test_offline_every_download_fails_fast_with_one_line_and_leaves_nothing(what, tmp_data_root, closed_port_url,
                                                                           monkeypatch, capsys):
    """No network (every host refuses): exit 2, one line, no retry, nothing left in the data root."""
    from gancourse.data import download as dl
    from gancourse.data import idx, monet_download

    for name in idx.MIRRORS:
        monkeypatch.setitem(idx.MIRRORS, name, [closed_port_url + name + "/"])
    monkeypatch.setenv("GANCOURSE_QUICKDRAW_URL", closed_port_url + "quickdraw")
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url.rstrip("/"))
    monkeypatch.setattr(monet_download, "ZIP_MIRRORS", [closed_port_url + "monet2photo.zip"])
    monkeypatch.setattr(inception, "WEIGHTS_URL", closed_port_url + "w.pth")
    dl.reset_traffic()
    code = main(["download", what])
    err = capsys.readouterr().err
    if DATASETS.get(what) is not None and DATASETS[what].download is None:
        assert code == 2
        return
    assert code == 2 and "Traceback" not in err and "refused" in err.lower(), err
    assert dl.traffic()["requests"] <= 8  # each source tried once: nothing retried on a refused connection
    assert all_files(tmp_data_root) == []
