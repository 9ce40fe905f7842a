"""The course's main job: execute every notebook with papermill into one folder, with an index page.

    runs/course/01_mnist_dcgan.ipynb       executed notebook (and .html export)
    runs/course/01_mnist_dcgan.headline.json  what the notebook reported via record_headline()
    runs/course/index.html                 per notebook: samples, headline metric vs floor, wall time, profile
    runs/course/runs/                      the notebooks' training runs (unless $GANCOURSE_RUNS is set)
"""

from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

from tqdm.auto import tqdm

from ..paths import REPO_ROOT
from .notebooks import COURSE
from .profiles import PROFILES, check_choice


def course_notebooks(folder: Path | None = None) -> list[Path]:
    """The course's notebooks in order: the numbered entries of the manifest (:mod:`.notebooks`), in ``folder``."""
    folder = folder or REPO_ROOT / "notebooks"
    return [folder / notebook.file for notebook in COURSE]


def export_html(notebook: Path) -> Path:
    from nbconvert import HTMLExporter  # lazy: a heavy import that only the HTML export needs

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def run_course(out: str | Path, profile: str = "quick", notebooks: list[Path] | None = None,
               html_export: bool = True) -> Path:
    """Execute ``notebooks`` (default: all numbered ones) in order; a failure is recorded, not fatal.

    Their training runs go into ``out/runs`` unless ``$GANCOURSE_RUNS`` says where.
    """
    check_choice("profile", profile, PROFILES)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    notebooks = notebooks or course_notebooks()
    os.environ["GANCOURSE_COURSE_DIR"] = str(out)
    # The notebooks' runs belong to this course: two courses side by side, or a read-only checkout, must not
    # share (or need) the checkout's runs/.
    own_runs = "GANCOURSE_RUNS" not in os.environ
    if own_runs:
        os.environ["GANCOURSE_RUNS"] = str(out / "runs")
    try:
        _execute(notebooks, out, profile, html_export)
    finally:
        if own_runs:
            del os.environ["GANCOURSE_RUNS"]
    return write_index(out)


def _execute(notebooks: list[Path], out: Path, profile: str, html_export: bool) -> None:
    import papermill  # lazy: a heavy import that only executing the course needs

    os.environ["GANCOURSE_PROFILE"] = profile
    os.environ.setdefault("GANCOURSE_HEADLESS", "1")
    statuses = {}
    for notebook in tqdm(notebooks, desc=f"course ({profile})", unit="notebook"):
        notebook = Path(notebook).resolve()
        os.environ["GANCOURSE_COURSE_NOTEBOOK"] = notebook.stem
        target = out / notebook.name
        start = time.perf_counter()
        try:
            papermill.execute_notebook(str(notebook), str(target), parameters={"profile": profile},
                                       cwd=str(notebook.parent), progress_bar=False, kernel_name="python3")
            status, error = "ok", ""
        except Exception as exc:  # one broken notebook must not hide the others' results
            status, error = "failed", str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        wall = time.perf_counter() - start
        if html_export and target.is_file():
            export_html(target)
        statuses[notebook.stem] = {"status": status, "error": error, "wall_time": wall, "profile": profile}
        (out / f"{notebook.stem}.status.json").write_text(json.dumps(statuses[notebook.stem], indent=2))


def read_entries(out: Path) -> list[dict]:
    entries = []
    for status_file in sorted(out.glob("*.status.json")):
        stem = status_file.name.removesuffix(".status.json")
        entry = {"notebook": stem, **json.loads(status_file.read_text())}
        headline = out / f"{stem}.headline.json"
        if headline.is_file():
            entry["headline"] = json.loads(headline.read_text())
        entries.append(entry)
    return entries


def write_index(out: str | Path) -> Path:
    """index.html (and index.md) from the status and headline files in ``out``."""
    out = Path(out)
    rows, md = [], ["| notebook | status | headline | floor | wall time | profile |", "|---|---|---|---|---|---|"]
    for e in read_entries(out):
        h = e.get("headline", {})
        value = f"{h['metric']} = {h['value']:.4g}" if h else "(none reported)"
        stand_in = h.get("source", "real") != "real"
        value_html = (f'<span style="color:#c00"><b>stand-in data: not a result</b><br>{html.escape(value)}</span>'
                      if stand_in else html.escape(value))
        value = f"{value} (stand-in data: not a result)" if stand_in else value
        floor = f"{h['floor']:.4g}" if h.get("floor") is not None else ""
        page = f"{e['notebook']}.html" if (out / f"{e['notebook']}.html").is_file() else f"{e['notebook']}.ipynb"
        image = f'<img src="{html.escape(h["samples"])}" width="160">' if h.get("samples") else ""
        status = e["status"] + (f": {html.escape(e['error'])}" if e.get("error") else "")
        rows.append(f"<tr><td><a href=\"{html.escape(page)}\">{html.escape(e['notebook'])}</a></td><td>{image}</td>"
                    f"<td>{value_html}</td><td>{floor}</td><td>{e['wall_time']:.0f} s</td>"
                    f"<td>{html.escape(e['profile'])}</td><td>{status}</td></tr>")
        md.append(f"| [{e['notebook']}]({page}) | {e['status']} | {value} | {floor} | {e['wall_time']:.0f} s | "
                  f"{e['profile']} |")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>gancourse: course run</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.4em .8em;border-bottom:1px solid #ddd;"
            "vertical-align:middle}</style></head><body><h1>gancourse: the course, executed</h1>"
            "<p>Each notebook ran top to bottom with papermill. The headline metric sits beside what real "
            "data scores (the floor): a number only means something relative to it.</p><table><tr>"
            "<th>notebook</th><th>final samples</th><th>headline</th><th>real-data floor</th><th>wall time</th>"
            "<th>profile</th><th>status</th></tr>" + "".join(rows) + "</table></body></html>")
    (out / "index.md").write_text("\n".join(md) + "\n")
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
