import sys
import types

import pytest

from gancourse.viz import frontend


class ZMQInteractiveShell:  # the kernel shell of JupyterLab, classic Jupyter and VS Code
    pass


class TerminalInteractiveShell:  # plain IPython in a terminal: nobody sees widgets there
    pass


def colab_shell_class() -> type:
    """Colab's shell: a subclass of the kernel shell, under another name, in a google.colab module."""
    return type("Shell", (ZMQInteractiveShell,), {"__module__": "google.colab._shell"})


@pytest.fixture
def shell(monkeypatch):
    """Pretend IPython's get_ipython() returns an instance of the class the test sets."""
    for name in frontend.HEADLESS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    current = {"cls": None}
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: current["cls"]() if current["cls"] else None
    monkeypatch.setitem(sys.modules, "IPython", fake)
    return current


@pytest.mark.parametrize("make_class", [lambda: ZMQInteractiveShell, colab_shell_class],
                         ids=["jupyterlab-jupyter-vscode", "colab"])
def test_live_kernels_count_as_watched(shell, make_class):
    shell["cls"] = make_class()
    assert frontend.live_frontend()


def test_a_terminal_ipython_and_a_script_are_not_watched(shell):
    shell["cls"] = TerminalInteractiveShell
    assert not frontend.live_frontend()
    shell["cls"] = None
    assert not frontend.live_frontend()


@pytest.mark.parametrize("variable", frontend.HEADLESS_VARIABLES)
def test_papermill_nbmake_and_headless_runs_are_not_watched_even_in_a_kernel(shell, monkeypatch, variable):
    shell["cls"] = ZMQInteractiveShell
    monkeypatch.setenv(variable, "1")
    assert not frontend.live_frontend()
    assert not frontend.widgets_available()


def test_widgets_need_ipywidgets_as_well(shell, monkeypatch):
    shell["cls"] = ZMQInteractiveShell
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # an import of it now fails
    assert frontend.live_frontend() and not frontend.widgets_available()
