"""`python -m bench.cli`: the command line's start-up and answer times."""
