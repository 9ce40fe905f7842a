"""Is a person watching? The one check behind every live plot and widget of the course.

A live front end is a Jupyter kernel someone is looking at: JupyterLab, classic Jupyter and VS Code all
run an ipykernel ``ZMQInteractiveShell``; Colab runs its own subclass of it (``google.colab``). Papermill,
nbmake (and ``GANCOURSE_HEADLESS=1``) run the same kernels with no one watching, so they set an
environment variable that rules the front end out; a terminal IPython or a script has no such shell.
"""

from __future__ import annotations

import os

HEADLESS_VARIABLES = ("PAPERMILL_EXECUTION", "NBMAKE", "GANCOURSE_HEADLESS")


def live_frontend() -> bool:
    """True in a JupyterLab, classic Jupyter, VS Code or Colab kernel that someone is watching."""
    if any(name in os.environ for name in HEADLESS_VARIABLES):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    kernel_shell = any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)
    return kernel_shell or type(shell).__module__.startswith("google.colab")


def widgets_available() -> bool:
    """True where ipywidgets can be driven: a live front end (:func:`live_frontend`) with ipywidgets installed."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return live_frontend()
