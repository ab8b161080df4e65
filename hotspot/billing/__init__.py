"""Money: payments and their settlement, vouchers, the M-Pesa callback tokens, and lost work
found again."""
