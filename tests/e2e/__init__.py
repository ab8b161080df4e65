"""End-to-end tests: FreeRADIUS and RADIUS clients, Chromium, `hotspot run`, workers and
schedulers as processes of their own, and the fuzzer."""
