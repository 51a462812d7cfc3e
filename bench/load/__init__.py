"""Load benchmark: K worker processes of the core services against one PostgreSQL, vs pgbench."""
