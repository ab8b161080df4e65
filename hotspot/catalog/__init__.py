"""What is for sale: packages and the RADIUS group each one becomes."""
