"""The outside world: PostgreSQL, Redis, M-Pesa Daraja, Africa's Talking, FreeRADIUS's files."""
