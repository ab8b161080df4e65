"""The captive portal's pages (`/portal…`) and the access check it reads
(`GET /api/hotspot/session`).

The router's login.html sends the browser to `/portal` with its parameters (`mac`, `ip`,
`link-login-only`, `link-orig`, `chap-id`, `chap-challenge`). Every page carries them in its
links and the JavaScript keeps them in sessionStorage, so that after a payment, a voucher or a
typed code the page can post the login form to the router itself (CHAP or PAP) with no typing.
Pages are English or Swahili: `?lang=` (remembered in a cookie), else the cookie, else the
browser's Accept-Language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)
from flask import render_template as _render_template

from hotspot.access.logout import MAX_FIELD, Logout, sessions_to_end
from hotspot.access.portal_status import AccessLeft, access_for_mac, access_for_username
from hotspot.access.routers import RouterLogin, registered_login
from hotspot.billing.gateways import offered
from hotspot.catalog.packages import active_packages
from hotspot.core.errors import InvalidInputError
from hotspot.models import DEFAULT_OPERATOR_CODE, Operator, Package
from hotspot.operators.tenants import default_operator_id
from hotspot.web import client_ip, notifier, rate_limit, services, sessions, settings
from hotspot.web.portal_text import (
    FAILURE_REASONS_SW,
    PHONE_REASONS_SW,
    SCRIPT_STRINGS,
    brand_text,
    clock_text,
    data_text,
    gateway_texts,
    package_view,
    router_error_key,
    strings,
)
from hotspot.web.request_input import json_object
from hotspot.web.serializers import package_json

captive = Blueprint(
    "captive",
    __name__,
    template_folder="templates",
    static_folder="static/portal",
    static_url_path="/portal/static",
)

LOGOUT_JOB = "jobs.expiry.disconnect_sessions"
# An operator's portal_colors, as the variables of portal.css they set.
VARIABLES = {"primary": "green", "accent": "green-dark"}


@dataclass(frozen=True)
class PortalOperator:
    id: int
    name: str
    portal_name: str | None
    portal_colors: dict[str, str]
    is_default: bool

    @classmethod
    def of(cls, row: Operator) -> PortalOperator:
        return cls(
            row.id,
            row.name,
            row.portal_name,
            dict(row.portal_colors),
            row.code == DEFAULT_OPERATOR_CODE,
        )


LANGUAGES = ("en", "sw")
LANGUAGE_COOKIE = "portal_lang"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# What MikroTik's login.html hands over, carried through every page of the portal.
ROUTER_PARAMETERS = ("mac", "ip", "link-login-only", "link-orig", "chap-id", "chap-challenge")

# The login form may go only to the router this page came through (hotspot.routers), so the
# policy's form-action is written per page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def choose_language() -> tuple[str, bool]:
    """The page's language, and whether it was asked for now (then it goes into the cookie)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked, True
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered, False
    return request.accept_languages.best_match(LANGUAGES, default="en"), False


# --- rendering ---------------------------------------------------------------------------------


def router_parameters() -> dict[str, str]:
    """The router's parameters present on this request, to carry into every link."""
    return {name: request.args[name] for name in ROUTER_PARAMETERS if request.args.get(name)}


def portal_url(endpoint: str, **values: Any) -> str:
    """A portal link that keeps the router's parameters."""
    return url_for(endpoint, **{**router_parameters(), **values})


def render_page(
    template: str, *, script: Mapping[str, Any] | None = None, **context: Any
) -> Response:
    lang, asked = choose_language()
    other = "sw" if lang == "en" else "en"
    args = {**request.args.to_dict(), "lang": other}
    shown = strings(lang)
    router = router_login()
    operator = portal_operator(router)
    config = {
        "lang": lang,
        "routerLogin": router.url if router else None,
        "autoLogin": settings().auto_login,
        "strings": {key: shown[key] for key in SCRIPT_STRINGS},
        "failureReasonsSw": FAILURE_REASONS_SW,
        "phoneReasonsSw": PHONE_REASONS_SW,
        "successUrl": url_for("captive.success"),
        "portalUrl": url_for("captive.index"),
        **(script or {}),
    }
    response = make_response(
        _render_template(
            f"portal/{template}",
            lang=lang,
            t=shown,
            other_lang=other,
            other_lang_name=strings(other)["lang_name"],
            switch_url=this_page(args),
            portal_url=portal_url,
            carry=router_parameters(),
            router_notice=router_notice(router),
            brand=brand_text(operator.portal_name, operator.name, operator.is_default, lang),
            theme_url=(
                url_for("captive.theme", operator_id=operator.id)
                if operator.portal_colors
                else None
            ),
            config=config,
            **context,
        )
    )
    if asked:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_AGE, samesite="Lax", httponly=True
        )
    response.headers.update(SECURITY_HEADERS)
    form_action = f"'self' {router.origin}" if router else "'self'"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        form_action=form_action
    )
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def this_page(query: Mapping[str, str]) -> str:
    """This page with another query. The query never reaches url_for's arguments, where a key
    like `_external` or a path argument would change the URL itself."""
    path = url_for(request.endpoint or "captive.index", **(request.view_args or {}))
    return with_query(path, query)


def with_query(path: str, query: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def router_login() -> RouterLogin | None:
    """This page's router login URL, if it is a registered router's (hotspot.routers)."""
    if "router_login" not in g:  # asked by the page and by its layout: one query a request
        url = request.args.get("link-login-only")
        with sessions()() as session:
            g.router_login = registered_login(session, url) if url else None
    found: RouterLogin | None = g.router_login
    return found


def portal_operator(router: RouterLogin | None) -> PortalOperator:
    """Whose portal this is: the operator of the router the customer is behind, else the
    installation's own."""
    if "portal_operator" not in g:
        with sessions()() as session:
            wanted = router.operator_id if router else default_operator_id(session)
            g.portal_operator = PortalOperator.of(session.get_one(Operator, wanted))
    found: PortalOperator = g.portal_operator
    return found


@captive.get("/portal/theme/<int32:operator_id>.css")
def theme(operator_id: int) -> Response:
    """The operator's portal colours, as the stylesheet's variables (the CSP allows no inline
    style)."""
    with sessions()() as session:
        operator = session.get(Operator, operator_id)
        colors = operator.portal_colors if operator else {}
    rules = "".join(f"--{VARIABLES[name]}:{value};" for name, value in colors.items())
    response = make_response(f":root{{{rules}}}\n")
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def router_notice(router: RouterLogin | None) -> str | None:
    """Why this page cannot log the customer in at the router, if it cannot."""
    if router is not None:
        return None
    return "unknown_router" if request.args.get("link-login-only") else "not_on_hotspot"


# --- pages -------------------------------------------------------------------------------------


@captive.get("/portal/")
def index_with_slash() -> Any:
    return redirect(with_query(url_for("captive.index"), request.args.to_dict()))


@captive.get("/portal")
def index() -> Response:
    lang, _ = choose_language()
    operator = portal_operator(router_login())
    with sessions()() as session:
        packages = [package_view(p, lang) for p in active_packages(session, operator.id)]
    error = router_error_key(request.args.get("error", ""))
    return render_page("index.html", packages=packages, router_error=error)


@captive.get("/portal/pay/<int32:package_id>")
def pay(package_id: int) -> Any:
    lang, _ = choose_language()
    with sessions()() as session:
        package = session.get(Package, package_id)
        operator = portal_operator(router_login())
        if package is None or not package.is_active or package.operator_id != operator.id:
            return redirect(portal_url("captive.index"))
        view = package_view(package, lang)
        offers = offered(session.get(Operator, operator.id), services().installation_gateways)
    shown = strings(lang)
    gateways = [gateway_texts(name, shown) for name in offers]
    return render_page(
        "pay.html",
        package=view,
        gateways=gateways,
        first=gateways[0],
        script={"packageId": view.id, "price": view.price, "gateways": gateways},
    )


@captive.get("/portal/voucher")
def voucher() -> Response:
    return render_page("voucher.html")


@captive.get("/portal/login")
def code_login() -> Response:
    return render_page("code.html")


@captive.get("/portal/success")
def success() -> Response:
    lang, _ = choose_language()
    username = request.args.get("u", "").strip()
    mac = request.args.get("mac", "").strip()
    if username or mac:  # a look-up, like /api/hotspot/session
        rate_limit("lookups-ip", client_ip(), settings().rate_limit_lookups_per_ip)
    access: AccessLeft | None = None
    now = dt.datetime.now(dt.UTC)
    with sessions()() as session:
        try:
            if username:
                access = access_for_username(session, username, now)
            elif mac:
                access = access_for_mac(session, mac, now)
        except InvalidInputError:
            access = None
        view = package_view(access.package, lang) if access is not None else None
    return render_page(
        "success.html",
        access=access,
        package=view,
        time_left=clock_text(access.seconds_left, lang) if access else "",
        data_left=data_text(access.data_left_bytes, lang) if access else "",
        data_total=data_text(access.data_cap_bytes, lang) if access else "",
        data_share=(
            100 * access.data_left_bytes // access.data_cap_bytes
            if access and access.data_left_bytes is not None and access.data_cap_bytes
            else 100
        ),
        script={
            # Only the username the page was given: a MAC (seen by anyone on the WiFi) must not
            # reveal whose device it is.
            "username": username or None,
            "secondsLeft": access.seconds_left if access else 0,
            "expiresAt": access.expires_at.isoformat() if access else None,
        },
    )


# --- the access check --------------------------------------------------------------------------


@captive.get("/api/hotspot/session")
def hotspot_session() -> Any:
    """A device's (`?mac=`) or a customer's (`?username=`) package, time left and data left."""
    rate_limit("lookups-ip", client_ip(), settings().rate_limit_lookups_per_ip)
    mac = request.args.get("mac", "").strip()
    username = request.args.get("username", "").strip()
    if not mac and not username:
        raise InvalidInputError("give mac or username")
    now = dt.datetime.now(dt.UTC)
    with sessions()() as session:
        if username:
            access = access_for_username(session, username, now)
        else:
            access = access_for_mac(session, mac, now)
        if access is None:
            abort(404, "no access known for this " + ("username" if username else "device"))
        return jsonify(access_json(access, with_username=bool(username)))


@captive.post("/api/hotspot/logout")
def logout() -> Any:
    """Ends the caller's own sessions (its device's, when it names its `mac` or `ip`), proven by
    the credentials it was handed; 202 with how many, ended by the worker's Disconnect-Requests."""
    rate_limit("lookups-ip", client_ip(), settings().rate_limit_lookups_per_ip)
    body = json_object()
    command = Logout(
        username=text_field(body, "username"),
        password=text_field(body, "password"),
        mac=text_field(body, "mac") or None,
        ip=text_field(body, "ip") or None,
    )
    account = command.username.strip().lower()[:MAX_FIELD]
    rate_limit("logout-user", account, settings().rate_limit_logouts)
    with sessions()() as session:
        ended = sessions_to_end(session, command)
    if ended and not notifier().enqueue(LOGOUT_JOB, ended, "logout", job_id=f"logout-{ended[0]}"):
        # Without the job nothing would end the sessions: say so rather than a false 202.
        response = jsonify(error="the logout could not be queued; try again in a moment")
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(sessions=len(ended)), 202


def text_field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{name} must be text")
    return value or ""


def access_json(access: AccessLeft, *, with_username: bool) -> dict[str, Any]:
    """The username is only echoed to whoever already knows it, not to whoever knows a MAC."""
    online = access.session
    shown: dict[str, Any] = {
        "package": package_json(access.package),
        "status": access.status.value,
        "usable": access.usable,
        "expires_at": access.expires_at.isoformat(),
        "seconds_left": access.seconds_left,
        "data_cap_bytes": access.data_cap_bytes,
        "data_used_bytes": access.data_used_bytes,
        "data_left_bytes": access.data_left_bytes,
        "online": online is not None,
        "session": None
        if online is None
        else {
            "started_at": online.started_at.isoformat() if online.started_at else None,
            "ip": online.ip,
            "mac": online.mac,
        },
    }
    if with_username:
        shown["username"] = access.username
    return shown
