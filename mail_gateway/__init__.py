"""Mail front end: outbox delivery, inbound SMTP/IMAP, reply interpretation (mail gateway issue)."""
