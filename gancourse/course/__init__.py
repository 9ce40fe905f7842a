"""Course plumbing: the notebooks' manifest, notebook setup, profiles, write-it-yourself exercises, the course
runner, doctor."""
