"""Local stand-ins for the outside services, for development and tests."""
