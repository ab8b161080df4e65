"""The `hotspot` command: parses arguments and calls the same services as the web layer."""
