from gancourse.paths import cache_dir, data_root, runs_root


def test_environment_variables_move_every_location(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("GANCOURSE_RUNS", str(tmp_path / "r"))
    monkeypatch.delenv("GANCOURSE_CACHE", raising=False)
    assert data_root() == tmp_path / "d" and runs_root() == tmp_path / "r"
    assert cache_dir() == tmp_path / "d" / ".cache"  # a writable data root keeps its cache beside the data


def test_a_read_only_data_root_is_never_written(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)  # like CI's ../shared/data; root ignores os.access, so the mode bits must count
    monkeypatch.setenv("GANCOURSE_DATA", str(shared))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("GANCOURSE_CACHE", raising=False)
    try:
        assert cache_dir() == tmp_path / "xdg" / "gancourse"
        assert list(shared.iterdir()) == []
    finally:
        shared.chmod(0o755)
