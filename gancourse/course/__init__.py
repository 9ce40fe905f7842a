"""Course plumbing: notebook setup, profiles, write-it-yourself exercises, the course runner, doctor."""
