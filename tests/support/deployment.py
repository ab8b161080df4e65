"""A complete production configuration, its secrets distinctive so a test can tell that none of
them is ever shown."""

from __future__ import annotations

from hotspot.core.deployment import DEPLOYMENT_SECRETS
from hotspot.core.settings import env_name

SECRETS = {env_name(name): f"secret-{name}-Zq8" for name in DEPLOYMENT_SECRETS}
SECRETS["HOTSPOT_DATABASE_URL"] = "postgresql+psycopg://app:pw-Zq8@postgres:5432/hotspot"
SECRETS["HOTSPOT_REDIS_URL"] = "redis://:pw-Zq8@redis:6379/0"
PRODUCTION = {
    **SECRETS,
    "HOTSPOT_ENVIRONMENT": "production",
    "HOTSPOT_PUBLIC_BASE_URL": "https://wifi.example.com",
    "HOTSPOT_MPESA_BASE_URL": "https://api.safaricom.co.ke",
    "HOTSPOT_MPESA_SHORTCODE": "600123",
    "HOTSPOT_SMS_BASE_URL": "https://api.africastalking.com/version1",
    "HOTSPOT_SMS_USERNAME": "wificafe",
}
