from gancourse.cli import main
from gancourse.course import doctor
from gancourse.course.doctor import Check, Report, dataset_status, diagnose
from gancourse.course.gpu_memory import LARGEST_FULL_RUN, MARGIN, T4_BYTES, bytes_needed, gpu_memory_table
from gancourse.course.notebooks import COURSE
from gancourse.data import DATASETS


def test_a_report_lists_problems_with_their_advice():
    report = Report()
    report.add("python", True, "3.11")
    report.add("data root", False, "/nowhere", "create it")
    assert [c.name for c in report.problems] == ["data root"]
    text = report.render()
    assert "ok  python" in text and "!!  data root" in text and "-> create it" in text


def test_a_missing_dataset_is_downloaded_later_or_a_stand_in_when_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("GANCOURSE_OFFLINE", raising=False)
    assert dataset_status("mnist", tmp_path, {})[0] == "missing"
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    state, detail = dataset_status("mnist", tmp_path, {})
    assert state == "stand-in" and "STAND-IN" in detail


def test_an_unreadable_dataset_is_a_finding_not_a_crash(tmp_path, monkeypatch):
    def broken(root, split, **options):
        raise OSError("bad header")

    monkeypatch.setattr(DATASETS["mnist"], "find", broken)
    assert dataset_status("mnist", tmp_path, {}) == ("broken", "unreadable: bad header")


def test_every_notebook_gets_a_data_check_with_the_command_that_fetches_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")
    checks = doctor.data_checks(tmp_path)
    notebooks = {c.name.split(":")[0] for c in checks if ":" in c.name}
    assert notebooks == {entry.name for entry in COURSE}  # the manifest's notebooks, each with its datasets
    assert {c.name for c in checks if ":" in c.name} == {f"{e.name}: {name}" for e in COURSE for name, _ in e.datasets}
    missing = [c for c in checks if ":" in c.name and not c.ok]
    assert missing and all("gancourse download" in c.advice for c in missing)


def test_diagnose_reports_the_data_root_and_says_how_to_create_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path / "absent"))
    report = diagnose(check_data=False)
    names = [c.name for c in report.checks]
    assert names[:3] == ["python", "torch", "data root"]
    root = next(c for c in report.checks if c.name == "data root")
    assert not root.ok and "GANCOURSE_DATA" in root.advice
    assert isinstance(root, Check)


def test_the_full_profile_fits_a_t4_by_the_memory_guards_estimate_and_the_doctor_says_so(capsys):
    numbered = sorted(entry.name for entry in COURSE)
    assert sorted(LARGEST_FULL_RUN) == numbered  # a row per notebook, from its manifest entry
    assert all(LARGEST_FULL_RUN[entry.name] is entry.largest_full_run for entry in COURSE)
    rows = gpu_memory_table()
    for notebook, fp32, amp, fits in rows:
        assert fits and amp < fp32 <= MARGIN * T4_BYTES / 1024**3, notebook
    step = LARGEST_FULL_RUN["06_monet_cyclegan"].estimate()
    assert bytes_needed(step, amp=True) < bytes_needed(step, amp=False)  # bf16 halves the activations alone
    assert main(["doctor", "--no-data", "--profile", "full"]) == 0
    printed = capsys.readouterr().out
    assert all(f"{notebook}: GPU memory (estimate)" in printed for notebook in numbered)
    assert main(["doctor", "--no-data"]) == 0 and "GPU memory" not in capsys.readouterr().out
