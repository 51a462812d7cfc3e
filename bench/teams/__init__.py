"""Teams HTTP answers and throughput: `serve` against an echo-only Teams SDK app.

    python -m bench.teams [--seconds 10] [--rates 200]
"""
