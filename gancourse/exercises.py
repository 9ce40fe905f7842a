"""The write-it-yourself track as notebooks import it: ``from gancourse.exercises import check_fid``.

The checkers, the scaffolds a student's code plugs into and ``show_solution`` live in
:mod:`gancourse.course.exercises`; this name is the stable one, so moving them inside the package never
breaks a notebook.
"""

from .course.exercises import *  # noqa: F403 - the public names, listed in its __all__
from .course.exercises import __all__  # noqa: F401
