"""Pictures of a run: plots of histories and image grids, notebook widgets, latent walks."""
