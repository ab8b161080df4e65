"""The captive portal's words, in English and Swahili, and how a package reads in each.

Kept apart from the pages (`hotspot.web.captive`) that use them: words change for other reasons,
and by other people, than the pages do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from hotspot.billing.payment_state import FAILURE_KINDS
from hotspot.models import Package

# The payment failures the portal explains in its own words (by the payment's `failure_kind`);
# any other shows the API's failure_reason.
EXPLAINED_FAILURES = tuple(dict.fromkeys(FAILURE_KINDS.values()))


# --- words -----------------------------------------------------------------------------------

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "lang_name": "English",
        "brand": "WiFi Hotspot",
        "title_packages": "Get online",
        "lead_packages": "Pick a package and pay with M-Pesa. You are online in seconds, "
        "with nothing to type.",
        "valid": "Valid",
        "data": "Data",
        "speed": "Speed",
        "devices": "Devices",
        "unlimited": "Unlimited",
        "buy": "Buy",
        "have_voucher": "I have a voucher",
        "have_code": "I already have a code",
        "no_packages": "No packages are on sale right now.",
        "not_on_hotspot": "Connect to the WiFi first: this page logs you in through the hotspot.",
        "unknown_router": "This link did not come from our WiFi, so it cannot log you in. "
        "Open the login page from the WiFi: join the network, then open any web page.",
        "router_error_credentials": "The hotspot could not log you in: wrong username or password.",
        "router_error_sessions": "The hotspot could not log you in: this account is already in "
        "use on as many devices as its package allows.",
        "router_error_ended": "The hotspot could not log you in: the package has ended.",
        "router_error_busy": "The hotspot could not log you in: the login server did not answer. "
        "Try again in a moment.",
        "router_error_page_old": "The hotspot could not log you in: the page was open too long. "
        "Open the WiFi login page again.",
        "router_error_device": "The hotspot could not log you in: this account may not be used "
        "from this device.",
        "router_error_other": "The hotspot could not log you in. Try again, or ask for help.",
        "reconnect": "Connect again",
        "already_online": "This device is online: {time} left.",
        "see_details": "Details",
        "back": "Back",
        "pay_title": "Pay with M-Pesa",
        "phone_label": "M-Pesa phone number",
        "phone_hint": "For example 0712 345 678",
        "pay_button": "Pay {price}",
        "change_package": "Choose another package",
        "phone_empty": "Enter your phone number.",
        "sending": "Sending the payment request…",
        "wait_title": "Check your phone",
        "wait_text": "We sent an M-Pesa request to {phone}. Enter your M-Pesa PIN to pay {price}.",
        "wait_step1": "Unlock your phone and look for the M-Pesa pop-up.",
        "wait_step2": "Check the amount, then enter your PIN.",
        "wait_step3": "Keep this page open: you will be connected automatically.",
        "waiting": "Waiting for your payment…",
        "no_prompt": "No pop-up? Use another number",
        "paid_title": "Payment received",
        "connecting": "Connecting you to the internet…",
        "failed_title": "The payment did not go through",
        "retry": "Try again",
        "other_number": "Use another number",
        "fail_cancelled_title": "Payment cancelled",
        "fail_cancelled_help": "No money was taken. Tap Try again for a new M-Pesa pop-up.",
        "fail_unreachable_title": "Phone not reachable",
        "fail_unreachable_help": "No money was taken. Check that the M-Pesa SIM is in the phone "
        "and it has network, then tap Try again.",
        "fail_wrong_pin_title": "Wrong PIN",
        "fail_wrong_pin_help": "No money was taken. Try again and enter your PIN carefully.",
        "fail_insufficient_funds_title": "Not enough money",
        "fail_insufficient_funds_help": "Top up M-Pesa or pick a cheaper package, then try again.",
        "fail_expired_title": "Request expired",
        "fail_expired_help": "No money was taken. Try again and answer the pop-up within a minute.",
        "fail_other_help": "If money was taken, keep the M-Pesa SMS and ask for help.",
        "network_error": "Could not reach the server. Check the WiFi and try again.",
        "voucher_title": "Use a voucher",
        "voucher_label": "Voucher code",
        "voucher_hint": "The 10 letters and digits printed on your voucher",
        "voucher_button": "Connect",
        "voucher_empty": "Enter the code printed on your voucher.",
        "voucher_invalid": "This code is not valid, or was already used.",
        "code_title": "Log in with your code",
        "code_lead": "Use the username and password from your SMS, or from the device you paid on.",
        "username": "Username",
        "password": "Password",
        "login_button": "Log in",
        "fields_empty": "Enter both the username and the password.",
        "logging_in": "Logging you in…",
        "success_title": "You are online",
        "time_left": "Time left",
        "data_left": "Data left",
        "until": "until {when}",
        "of_total": "of {total}",
        "no_cap": "No data limit",
        "package": "Package",
        "other_device": "Connect another device",
        "other_device_text": "Log in with these details on another device (your package "
        "allows {devices} at a time), or to reconnect later. Keep them safe.",
        "continue": "Continue browsing",
        "ended": "Your package has ended.",
        "buy_more": "Buy more time",
        "unknown_account": "We could not find this account.",
        "hours_short": "h",
        "minutes_short": "min",
        "days": "days",
        "day": "day",
    },
    "sw": {
        "lang_name": "Kiswahili",
        "brand": "WiFi Hotspot",
        "title_packages": "Ingia mtandaoni",
        "lead_packages": "Chagua kifurushi na ulipe kwa M-Pesa. Utaunganishwa ndani ya sekunde "
        "chache, bila kuandika chochote.",
        "valid": "Muda",
        "data": "Data",
        "speed": "Kasi",
        "devices": "Vifaa",
        "unlimited": "Bila kikomo",
        "buy": "Nunua",
        "have_voucher": "Nina vocha",
        "have_code": "Tayari nina msimbo",
        "no_packages": "Hakuna vifurushi vinavyouzwa kwa sasa.",
        "not_on_hotspot": "Unganisha kwenye WiFi kwanza: ukurasa huu unakuingiza kupitia hotspot.",
        "unknown_router": "Kiungo hiki hakikutoka kwenye WiFi yetu, kwa hiyo hakiwezi kukuingiza. "
        "Fungua ukurasa wa kuingia kutoka kwenye WiFi: unganisha kwenye mtandao, kisha fungua "
        "ukurasa wowote.",
        "router_error_credentials": "Hotspot imeshindwa kukuingiza: jina la mtumiaji au "
        "nenosiri si sahihi.",
        "router_error_sessions": "Hotspot imeshindwa kukuingiza: akaunti hii tayari inatumika "
        "kwenye vifaa vyote ambavyo kifurushi chake kinaruhusu.",
        "router_error_ended": "Hotspot imeshindwa kukuingiza: muda wa kifurushi umekwisha.",
        "router_error_busy": "Hotspot imeshindwa kukuingiza: seva ya uthibitishaji haijibu. "
        "Jaribu tena baada ya muda.",
        "router_error_page_old": "Hotspot imeshindwa kukuingiza: ukurasa ulikaa wazi muda mrefu. "
        "Fungua upya ukurasa wa WiFi.",
        "router_error_device": "Hotspot imeshindwa kukuingiza: akaunti hii hairuhusiwi kwenye "
        "kifaa hiki.",
        "router_error_other": "Hotspot imeshindwa kukuingiza. Jaribu tena, au uombe msaada.",
        "reconnect": "Unganisha tena",
        "already_online": "Kifaa hiki kimeunganishwa: umebakiwa na {time}.",
        "see_details": "Maelezo",
        "back": "Rudi",
        "pay_title": "Lipa kwa M-Pesa",
        "phone_label": "Namba ya simu ya M-Pesa",
        "phone_hint": "Kwa mfano 0712 345 678",
        "pay_button": "Lipa {price}",
        "change_package": "Chagua kifurushi kingine",
        "phone_empty": "Weka namba yako ya simu.",
        "sending": "Tunatuma ombi la malipo…",
        "wait_title": "Angalia simu yako",
        "wait_text": "Tumetuma ombi la M-Pesa kwa {phone}. Weka PIN yako ya M-Pesa ili kulipa "
        "{price}.",
        "wait_step1": "Fungua simu yako na utafute ujumbe wa M-Pesa unaojitokeza.",
        "wait_step2": "Hakikisha kiasi ni sahihi, kisha weka PIN yako.",
        "wait_step3": "Usifunge ukurasa huu: utaunganishwa moja kwa moja.",
        "waiting": "Tunasubiri malipo yako…",
        "no_prompt": "Hujapata ujumbe? Tumia namba nyingine",
        "paid_title": "Malipo yamepokelewa",
        "connecting": "Tunakuunganisha kwenye intaneti…",
        "failed_title": "Malipo hayakufanikiwa",
        "retry": "Jaribu tena",
        "other_number": "Tumia namba nyingine",
        "fail_cancelled_title": "Malipo yameghairiwa",
        "fail_cancelled_help": "Hakuna pesa iliyotolewa. Bonyeza Jaribu tena upate ujumbe mpya "
        "wa M-Pesa.",
        "fail_unreachable_title": "Simu haipatikani",
        "fail_unreachable_help": "Hakuna pesa iliyotolewa. Hakikisha laini ya M-Pesa iko kwenye "
        "simu na ina mtandao, kisha bonyeza Jaribu tena.",
        "fail_wrong_pin_title": "PIN si sahihi",
        "fail_wrong_pin_help": "Hakuna pesa iliyotolewa. Jaribu tena na uweke PIN yako kwa "
        "uangalifu.",
        "fail_insufficient_funds_title": "Salio halitoshi",
        "fail_insufficient_funds_help": "Weka pesa kwenye M-Pesa au uchague kifurushi cha bei "
        "nafuu, kisha ujaribu tena.",
        "fail_expired_title": "Muda wa ombi umekwisha",
        "fail_expired_help": "Hakuna pesa iliyotolewa. Jaribu tena na ujibu ujumbe ndani ya "
        "dakika moja.",
        "fail_other_help": "Ikiwa pesa imetolewa, hifadhi SMS ya M-Pesa na uombe msaada.",
        "network_error": "Imeshindikana kufikia seva. Hakikisha WiFi imeunganishwa, kisha "
        "ujaribu tena.",
        "voucher_title": "Tumia vocha",
        "voucher_label": "Namba ya vocha",
        "voucher_hint": "Herufi na tarakimu 10 zilizochapishwa kwenye vocha yako",
        "voucher_button": "Unganisha",
        "voucher_empty": "Weka namba iliyochapishwa kwenye vocha yako.",
        "voucher_invalid": "Namba hii si sahihi, au imeshatumika.",
        "code_title": "Ingia kwa msimbo wako",
        "code_lead": "Tumia jina la mtumiaji na nenosiri kutoka kwenye SMS yako, au kutoka "
        "kwenye kifaa ulicholipia.",
        "username": "Jina la mtumiaji",
        "password": "Nenosiri",
        "login_button": "Ingia",
        "fields_empty": "Weka jina la mtumiaji na nenosiri.",
        "logging_in": "Tunakuingiza…",
        "success_title": "Umeunganishwa!",
        "time_left": "Muda uliobaki",
        "data_left": "Data iliyobaki",
        "until": "hadi {when}",
        "of_total": "kati ya {total}",
        "no_cap": "Hakuna kikomo cha data",
        "package": "Kifurushi",
        "other_device": "Unganisha kifaa kingine",
        "other_device_text": "Ingia kwa taarifa hizi kwenye kifaa kingine (kifurushi chako "
        "kinaruhusu {devices} kwa wakati mmoja), au uzitumie kuunganisha tena baadaye. "
        "Zihifadhi vizuri.",
        "continue": "Endelea kuvinjari",
        "ended": "Kifurushi chako kimekwisha.",
        "buy_more": "Nunua muda zaidi",
        "unknown_account": "Hatukupata akaunti hii.",
        "hours_short": "saa",
        "minutes_short": "dakika",
        "days": "siku",
        "day": "siku",
    },
}

# The strings the page scripts need.
SCRIPT_STRINGS = (
    "phone_empty",
    "sending",
    "wait_text",
    "waiting",
    "paid_title",
    "connecting",
    "failed_title",
    "network_error",
    "voucher_empty",
    "voucher_invalid",
    "fields_empty",
    "logging_in",
    "already_online",
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


# Swahili for the API's reasons a phone number is refused (hotspot.phones, hotspot.payments):
# (pattern of the English reason, what the page says instead).
PHONE_REASONS_SW = (
    ("empty", "Weka namba yako ya simu."),
    ("only digits", "Namba ya simu iwe na tarakimu pekee (na + mwanzoni ukipenda)."),
    ("not a mobile", "Hii si namba ya simu ya mkononi. Weka namba ya M-Pesa, mfano 0712 345 678."),
    ("Kenyan", "M-Pesa inahitaji namba ya Kenya (+254…)."),
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


def data_text(octets: int | None, lang: str) -> str:
    """Bytes as MikroTik counts them (1 GB = 2^30), or 'Unlimited'."""
    if octets is None:
        return STRINGS[lang]["unlimited"]
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
        duration=duration_text(package.duration_seconds, lang),
        data=data_text(package.data_cap_bytes, lang),
        speed=speed_text(package.rate_limit),
        devices=devices_text(package.devices, lang),
        device_count=package.devices,
    )
