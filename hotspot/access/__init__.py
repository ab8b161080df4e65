"""Access: hotspot users FreeRADIUS accepts, what accounting says they used, and ending it."""
