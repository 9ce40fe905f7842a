"""The engine: a run as a value (``RunSpec``), one training loop (``fit``), a run end to end (``train``),
variants of a run, the compute budget, sampling and restoring trained generators, multi-GPU training and
the memory guard.

It drives the core (``data``, ``models``, ``losses``, ``recipes``, ``metrics``) and writes run directories
(:mod:`gancourse.runs`, :mod:`gancourse.checkpoints`).
"""
