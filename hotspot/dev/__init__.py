"""Development-only tooling (the private stack, demo data, sandboxes): production code never
imports it."""
