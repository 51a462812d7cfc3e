"""Use cases: one module per family; each function runs inside the caller's unit of work."""
