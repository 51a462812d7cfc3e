"""Replies per second through the SMTP door, end to end, beside an accept-only aiosmtpd."""
