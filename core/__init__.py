"""Domain, rules and use cases of ITMA Assistant; knows no chat platform, SMTP or HTTP."""
