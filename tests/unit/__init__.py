"""Unit tests: in-process only. No PostgreSQL, Redis or FreeRADIUS, no server, no child process;
the whole tier runs in seconds (`make test-unit`)."""
