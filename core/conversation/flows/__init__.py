"""One module per dialogue; each exposes a Flow with `start` and `resume`."""
