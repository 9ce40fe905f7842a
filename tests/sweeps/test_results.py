"""gancourse.sweeps.results: the metrics and final samples of one run directory, nested runs included."""

from __future__ import annotations

import json


def test_nested_runs_give_prefixed_metrics(tmp_path):
    from gancourse.sweeps.results import final_samples, run_metrics

    run = tmp_path / "run"
    for name, fid in [("dcgan", 50.0), ("wgan-gp", 40.0)]:
        (run / name / "samples").mkdir(parents=True)
        (run / name / "metrics.json").write_text(json.dumps({"step": 10, "fid": fid}))
        (run / name / "samples" / "step_000010.png").write_bytes(b"png")
    assert run_metrics(run) == {"dcgan/step": 10, "dcgan/fid": 50.0, "wgan-gp/step": 10, "wgan-gp/fid": 40.0}
    assert final_samples(run, "wgan-gp/fid") == run / "wgan-gp" / "samples" / "step_000010.png"
    assert final_samples(run) == run / "dcgan" / "samples" / "step_000010.png"
    (run / "metrics.json").write_text(json.dumps({"fid": 1.0}))
    assert run_metrics(run) == {"fid": 1.0}  # a run of its own wins
