"""Stand-ins for the mobile-money gateways besides M-Pesa: ioTec Pay and CamPay."""
