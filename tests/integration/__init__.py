"""Integration tests: the real PostgreSQL and Redis, the API and the sandboxes on threads of the
test process, one-shot `hotspot` commands; no FreeRADIUS."""
