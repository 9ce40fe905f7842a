import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from gancourse.lessons.critic_plots import (  # noqa: E402
    plot_critic_weights,
    plot_gradient_norms,
    plot_loss_against_metric,
)
from gancourse.viz.plots import plt  # noqa: E402

from ..run_fixtures import fake_run  # noqa: E402


def test_the_share_of_weights_on_the_clipping_bounds_is_in_the_title():
    critic = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 3))
    with torch.no_grad():
        critic[0].weight.fill_(0.01)  # 36 weights on the bound
        critic[2].weight.fill_(0.0)  # 36 inside
    fig = plot_critic_weights(critic, clip=0.01)
    assert "50% of conv weights sit on the bounds" in fig.axes[0].get_title()
    plt.close(fig)


def test_gradient_norm_histograms_name_each_critics_median():
    fig = plot_gradient_norms({"clipped": torch.full((50,), 0.1), "penalty": torch.ones(50)})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("clipped (median 0.1)") for label in labels)
    assert any(label.startswith("penalty (median 1)") for label in labels)
    plt.close(fig)


def test_loss_against_metric_reports_how_well_the_loss_tracked_it(tmp_path):
    run = fake_run(tmp_path / "run")
    fig = plot_loss_against_metric([("falling", run, "loss_d"), ("rising", run.path, "loss_g")])
    titles = [ax.get_title() for ax in fig.axes[:2]]
    assert "rho = 1.00 (n = 5)" in titles[0]
    assert "rho = -1.00 (n = 5)" in titles[1]
    plt.close(fig)
