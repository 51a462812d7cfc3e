"""Slack ack latency and throughput: `serve` against an ack-only Bolt app.

    python -m bench.slack [--seconds 10] [--rates 50,200]
"""
