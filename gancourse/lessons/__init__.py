"""Helpers that belong to one notebook each: its entry in the manifest (``gancourse/course/notebooks.py``,
``lessons``) names them, and the notebook imports them."""
