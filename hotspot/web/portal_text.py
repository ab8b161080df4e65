"""The captive portal's words, in English and Swahili, and how a package reads in each.

Kept apart from the pages (`hotspot.web.captive`) that use them: words change for other reasons,
and by other people, than the pages do.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from hotspot.billing.payment_state import KINDS_OF_FAILURE
from hotspot.models import Package

# The payment failures the portal explains in its own words (by the payment's `failure_kind`);
# any other shows the API's failure_reason.
EXPLAINED_FAILURES = tuple(k for k in KINDS_OF_FAILURE if k not in ("not_sent", "other"))


# --- words -----------------------------------------------------------------------------------


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a message marker
    """Marks a message for the catalogs (`make messages` extracts what it wraps); it is
    translated when a page is shown, in the page's language."""
    return message


# Every word the pages and their script show, by the key templates and portal.js use, in English;
# the other languages are catalogs (translations/<lang>/LC_MESSAGES/messages.po, compiled .mo).
MESSAGES: dict[str, str] = {
    "lang_name": N_("English"),
    "brand": N_("WiFi Hotspot"),
    "title_packages": N_("Get online"),
    "lead_packages": N_(
        "Pick a package and pay with M-Pesa. You are online in seconds, with nothing to type."
    ),
    "valid": N_("Valid"),
    "data": N_("Data"),
    "speed": N_("Speed"),
    "devices": N_("Devices"),
    "unlimited": N_("Unlimited"),
    "buy": N_("Buy"),
    "have_voucher": N_("I have a voucher"),
    "have_code": N_("I already have a code"),
    "no_packages": N_("No packages are on sale right now."),
    "not_on_hotspot": N_("Connect to the WiFi first: this page logs you in through the hotspot."),
    "unknown_router": N_(
        "This link did not come from our WiFi, so it cannot log you in. Open the login page "
        "from the WiFi: join the network, then open any web page."
    ),
    "router_error_credentials": N_("The hotspot could not log you in: wrong username or password."),
    "router_error_sessions": N_(
        "The hotspot could not log you in: this account is already in use on as many devices "
        "as its package allows."
    ),
    "router_error_ended": N_("The hotspot could not log you in: the package has ended."),
    "router_error_busy": N_(
        "The hotspot could not log you in: the login server did not answer. Try again in a moment."
    ),
    "router_error_page_old": N_(
        "The hotspot could not log you in: the page was open too long. Open the WiFi login "
        "page again."
    ),
    "router_error_device": N_(
        "The hotspot could not log you in: this account may not be used from this device."
    ),
    "router_error_other": N_("The hotspot could not log you in. Try again, or ask for help."),
    "reconnect": N_("Connect again"),
    "already_online": N_("This device is online: {time} left."),
    "use_within": N_("{use} of use in {valid}"),
    "per_day": N_("{data} a day"),
    "known_device": N_("Welcome back: this device has {time} left on its package."),
    "device_login": N_("Connect this device"),
    "see_details": N_("Details"),
    "back": N_("Back"),
    "pay_title": N_("Pay with M-Pesa"),
    "phone_label": N_("M-Pesa phone number"),
    "phone_hint": N_("For example 0712 345 678"),
    "pay_button": N_("Pay {price}"),
    "change_package": N_("Choose another package"),
    "phone_empty": N_("Enter your phone number."),
    "sending": N_("Sending the payment request…"),
    "wait_title": N_("Check your phone"),
    "wait_text": N_("We sent an M-Pesa request to {phone}. Enter your M-Pesa PIN to pay {price}."),
    "wait_step1": N_("Unlock your phone and look for the M-Pesa pop-up."),
    "wait_step2": N_("Check the amount, then enter your PIN."),
    "wait_step3": N_("Keep this page open: you will be connected automatically."),
    "waiting": N_("Waiting for your payment…"),
    "gateway_choice": N_("Pay with"),
    "gateway_mpesa": N_("M-Pesa"),
    "gateway_iotec": N_("MTN or Airtel Money"),
    "gateway_campay": N_("MTN MoMo or Orange Money"),
    "pay_title_momo": N_("Pay with mobile money"),
    "phone_label_iotec": N_("MTN or Airtel Money number"),
    "phone_hint_iotec": N_("For example 0772 123 456"),
    "phone_label_campay": N_("MTN or Orange Money number"),
    "phone_hint_campay": N_("For example 6 71 23 45 67"),
    "wait_text_momo": N_(
        "We sent a mobile money request to {phone}. Approve it with your PIN to pay {price}."
    ),
    "wait_step1_iotec": N_("Unlock your phone and look for the MTN or Airtel Money prompt."),
    "wait_step1_campay": N_(
        "No prompt? Dial *126# (MTN) or #150*50# (Orange) and approve the payment there."
    ),
    "no_prompt": N_("No pop-up? Use another number"),
    "paid_title": N_("Payment received"),
    "connecting": N_("Connecting you to the internet…"),
    "failed_title": N_("The payment did not go through"),
    "retry": N_("Try again"),
    "other_number": N_("Use another number"),
    "fail_cancelled_title": N_("Payment cancelled"),
    "fail_cancelled_help": N_("No money was taken. Tap Try again for a new payment prompt."),
    "fail_unreachable_title": N_("Phone not reachable"),
    "fail_unreachable_help": N_(
        "No money was taken. Check that the M-Pesa SIM is in the phone and it has network, "
        "then tap Try again."
    ),
    "fail_wrong_pin_title": N_("Wrong PIN"),
    "fail_wrong_pin_help": N_("No money was taken. Try again and enter your PIN carefully."),
    "fail_insufficient_funds_title": N_("Not enough money"),
    "fail_insufficient_funds_help": N_("Top up M-Pesa or pick a cheaper package, then try again."),
    "fail_expired_title": N_("Request expired"),
    "fail_expired_help": N_("No money was taken. Try again and answer the pop-up within a minute."),
    "fail_other_help": N_("If money was taken, keep the payment SMS and ask for help."),
    "network_error": N_("Could not reach the server. Check the WiFi and try again."),
    "voucher_title": N_("Use a voucher"),
    "voucher_label": N_("Voucher code"),
    "voucher_hint": N_("The 10 letters and digits printed on your voucher"),
    "voucher_button": N_("Connect"),
    "voucher_empty": N_("Enter the code printed on your voucher."),
    "voucher_invalid": N_("This code is not valid, or was already used."),
    "code_title": N_("Log in with your code"),
    "code_lead": N_("Use the username and password from your SMS, or from the device you paid on."),
    "username": N_("Username"),
    "password": N_("Password"),
    "login_button": N_("Log in"),
    "fields_empty": N_("Enter both the username and the password."),
    "logging_in": N_("Logging you in…"),
    "success_title": N_("You are online"),
    "time_left": N_("Time left"),
    "data_left": N_("Data left"),
    "until": N_("until {when}"),
    "of_total": N_("of {total}"),
    "no_cap": N_("No data limit"),
    "package": N_("Package"),
    "other_device": N_("Connect another device"),
    "other_device_text": N_(
        "Log in with these details on another device (your package allows {devices} at a "
        "time), or to reconnect later. Keep them safe."
    ),
    "continue": N_("Continue browsing"),
    "log_out": N_("Log out"),
    "logging_out": N_("Logging you out…"),
    "logged_out": N_(
        "You are logged out. Log in again with the same details while your package lasts."
    ),
    "log_out_failed": N_("We could not log you out. Try again."),
    "manual_login_title": N_("Your login details"),
    "manual_login_text": N_("Log in at the hotspot with these details."),
    "ended": N_("Your package has ended."),
    "buy_more": N_("Buy more time"),
    "unknown_account": N_("We could not find this account."),
    "hours_short": N_("h"),
    "minutes_short": N_("min"),
    "days": N_("days"),
    "day": N_("day"),
}


TRANSLATIONS = Path(__file__).resolve().parent / "translations"


@cache
def strings(lang: str) -> dict[str, str]:
    """The messages in a language (English is the source; a language without a catalog reads
    English)."""
    catalog = gettext.translation("messages", TRANSLATIONS, languages=[lang], fallback=True)
    return {key: catalog.gettext(message) for key, message in MESSAGES.items()}


# The strings the page scripts need.
SCRIPT_STRINGS = (
    "phone_empty",
    "sending",
    "waiting",
    "paid_title",
    "connecting",
    "failed_title",
    "network_error",
    "voucher_empty",
    "voucher_invalid",
    "fields_empty",
    "logging_in",
    "logging_out",
    "logged_out",
    "log_out_failed",
    "already_online",
    "known_device",
    "until",
    "hours_short",
    "minutes_short",
    "days",
    "day",
    "fail_other_help",
    *(f"fail_{kind}_{part}" for kind in EXPLAINED_FAILURES for part in ("title", "help")),
)

# Swahili for M-Pesa's failure reasons (hotspot.adapters.daraja.RESULT_MESSAGES), by kind.
FAILURE_REASONS_SW = {
    "cancelled": "Ulighairi malipo.",
    "unreachable": "Simu yako haikupatikana. Hakikisha imewashwa na ina mtandao.",
    "wrong_pin": "PIN ya M-Pesa uliyoweka si sahihi.",
    "insufficient_funds": "Hakuna pesa za kutosha kwenye akaunti yako ya M-Pesa.",
    "expired": "Ombi la malipo liliisha muda kabla ya kukamilika.",
}


@dataclass(frozen=True)
class GatewayWords:
    """Which messages a gateway's pay page shows (keys of MESSAGES), and its number's shape."""

    choice: str
    title: str
    label: str
    hint: str
    wait: str
    step1: str
    placeholder: str


GATEWAY_WORDS = {
    "mpesa": GatewayWords(
        "gateway_mpesa", "pay_title", "phone_label", "phone_hint", "wait_text", "wait_step1",
        "07XX XXX XXX",
    ),
    "iotec": GatewayWords(
        "gateway_iotec", "pay_title_momo", "phone_label_iotec", "phone_hint_iotec",
        "wait_text_momo", "wait_step1_iotec", "07XX XXX XXX",
    ),
    "campay": GatewayWords(
        "gateway_campay", "pay_title_momo", "phone_label_campay", "phone_hint_campay",
        "wait_text_momo", "wait_step1_campay", "6XX XX XX XX",
    ),
}  # fmt: skip


def gateway_texts(name: str, shown: Mapping[str, str]) -> dict[str, str]:
    """A gateway's words on the pay page, in the page's language."""
    words = GATEWAY_WORDS[name]
    return {
        "name": name,
        "choice": shown[words.choice],
        "title": shown[words.title],
        "label": shown[words.label],
        "hint": shown[words.hint],
        "wait": shown[words.wait],
        "step1": shown[words.step1],
        "placeholder": words.placeholder,
    }


# Swahili for the API's reasons a phone number is refused (hotspot.phones, hotspot.payments):
# (pattern of the English reason, what the page says instead).
PHONE_REASONS_SW = (
    ("empty", "Weka namba yako ya simu."),
    ("only digits", "Namba ya simu iwe na tarakimu pekee (na + mwanzoni ukipenda)."),
    ("not a mobile", "Hii si namba ya simu ya mkononi. Weka namba ya M-Pesa, mfano 0712 345 678."),
    ("Kenyan", "M-Pesa inahitaji namba ya Kenya (+254…)."),
    ("Ugandan", "Malipo haya yanahitaji namba ya Uganda (+256…)."),
    ("Cameroonian", "Malipo haya yanahitaji namba ya Kamerun (+237…)."),
    ("not a (valid )?phone number", "Namba hii ya simu si sahihi. Mfano: 0712 345 678."),
)


# What RouterOS (or FreeRADIUS through it, as a Reply-Message) says when a login fails, matched to
# the page's own message; the text itself is never shown (a link could carry any text as
# `error`). RouterOS's texts: "invalid username or password", "no more sessions are allowed for
# user …", "user … has reached uptime limit" / "traffic limit", "RADIUS server is not
# responding", "already authorizing, retry later", "web browser did not send challenge response
# …" (chap-missing), "… this MAC address is not yours", "… not allowed to log in from this MAC
# address"; FreeRADIUS's "You are already logged in - access denied", "Password Has Expired".
ROUTER_ERRORS = (
    (re.compile(r"mac address"), "router_error_device"),
    (
        re.compile(r"invalid (username|password)|user not found|no such user"),
        "router_error_credentials",
    ),
    (
        re.compile(r"no more sessions|already logged in|simultaneous|session limit"),
        "router_error_sessions",
    ),
    (re.compile(r"expired|uptime limit|traffic limit"), "router_error_ended"),
    (re.compile(r"not responding|already authorizing|timeout"), "router_error_busy"),
    (re.compile(r"chap|challenge"), "router_error_page_old"),
)
MAX_ROUTER_ERROR = 200  # characters of `error` looked at


def router_error_key(error: str) -> str | None:
    """The message for the router's `error`: a known one, else the generic one; None without."""
    text = error.strip().lower()[:MAX_ROUTER_ERROR]
    if not text:
        return None
    return next(
        (key for pattern, key in ROUTER_ERRORS if pattern.search(text)), "router_error_other"
    )


# --- how packages read ---------------------------------------------------------------------

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)([kKmMgG]?)(?:/(\d+(?:\.\d+)?)([kKmMgG]?))?")
_RATE_UNITS = {"": 1e-6, "k": 1e-3, "m": 1.0, "g": 1e3}


def duration_text(seconds: int, lang: str) -> str:
    """3600 → '1 hour' / 'saa 1'; whole weeks, days, hours or minutes."""
    units = (
        (7 * 86400, ("week", "weeks"), "wiki"),
        (86400, ("day", "days"), "siku"),
        (3600, ("hour", "hours"), "saa"),
        (60, ("minute", "minutes"), "dakika"),
    )
    for size, (one, many), swahili in units:
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return (
                f"{swahili} {count}" if lang == "sw" else f"{count} {one if count == 1 else many}"
            )
    return f"sekunde {seconds}" if lang == "sw" else f"{seconds} seconds"


def validity_text(package: Package, lang: str) -> str:
    """'1 day', or for an hours-of-use package '5 hours of use in 30 days'."""
    valid = duration_text(package.duration_seconds, lang)
    if package.time_quota_seconds is None:
        return valid
    use = duration_text(package.time_quota_seconds, lang)
    return strings(lang)["use_within"].format(use=use, valid=valid)


def data_allowance_text(package: Package, lang: str) -> str:
    """'1 GB', 'Unlimited', or for a daily-data package '500 MB a day'."""
    if package.daily_data_bytes is None:
        return data_text(package.data_cap_bytes, lang)
    return strings(lang)["per_day"].format(data=data_text(package.daily_data_bytes, lang))


def data_text(octets: int | None, lang: str) -> str:
    """Bytes as MikroTik counts them (1 GB = 2^30), or 'Unlimited'."""
    if octets is None:
        return strings(lang)["unlimited"]
    for size, unit in ((2**30, "GB"), (2**20, "MB"), (2**10, "KB")):
        if octets >= size:
            value = Decimal(octets) / size
            shown = f"{value:.0f}" if value == value.to_integral_value() else f"{value:.1f}"
            return f"{shown} {unit}"
    return f"{octets} B"


def speed_text(rate_limit: str) -> str:
    """`2M/5M` (upload/download, as the router sees it) → '↓5 ↑2 Mbps'."""
    match = _RATE.match(rate_limit or "")
    if match is None:
        return rate_limit
    up_number, up_unit, down_number, down_unit = match.groups()
    if down_number is None:
        down_number, down_unit = up_number, up_unit

    def mbps(number: str, unit: str) -> str:
        return f"{float(number) * _RATE_UNITS[unit.lower()]:g}"

    return f"↓{mbps(down_number, down_unit)} ↑{mbps(up_number, up_unit)} Mbps"


def clock_text(seconds: int, lang: str) -> str:
    """Time left as the success page counts it down: '0:59:58', '6 days 23:59:58'."""
    days, rest = divmod(max(0, seconds), 86400)
    clock = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    if not days:
        return clock
    if lang == "sw":
        return f"siku {days} {clock}"
    return f"{days} {'day' if days == 1 else 'days'} {clock}"


def devices_text(count: int, lang: str) -> str:
    if lang == "sw":
        return f"kifaa {count}" if count == 1 else f"vifaa {count}"
    return f"{count} device" if count == 1 else f"{count} devices"


def brand_text(portal_name: str | None, name: str, installations: bool, lang: str) -> str:
    """The name a portal page or a voucher card shows: the operator's portal name, else the
    installation's own brand (translated) for its own operator, else the operator's name."""
    return portal_name or (strings(lang)["brand"] if installations else name)


def price_text(package: Package) -> str:
    price = package.price
    shown = f"{price:,.0f}" if price == price.to_integral_value() else f"{price:,.2f}"
    return f"{package.currency} {shown}"


@dataclass(frozen=True)
class PackageView:
    id: int
    name: str
    price: str
    duration: str
    data: str
    speed: str
    devices: str
    device_count: int


def package_view(package: Package, lang: str) -> PackageView:
    return PackageView(
        id=package.id,
        name=package.name,
        price=price_text(package),
        duration=validity_text(package, lang),
        data=data_allowance_text(package, lang),
        speed=speed_text(package.rate_limit),
        devices=devices_text(package.devices, lang),
        device_count=package.devices,
    )
