"""What a Disconnect-Request and a CoA-Request carry, and what each answer means for a session."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from pyrad import packet

from hotspot.access.live_sessions import session_timeout
from hotspot.access.termination import AttemptResult, outcome_of
from radius import dictionary
from radius.dynauth import Answer, SessionOnNas, request_packet, result_of

TARGET = SessionOnNas("10.0.0.1", 3799, "s3cret", "ab12cd", "81a0000f", "10.5.50.23")


def decoded(target: SessionOnNas) -> packet.CoAPacket:
    raw = request_packet(target, 7).RequestPacket()
    return packet.CoAPacket(secret=b"s3cret", dict=dictionary(), packet=raw)


def test_a_session_without_changes_gets_a_disconnect_request_of_identification_only() -> None:
    sent = decoded(TARGET)
    assert sent.code == packet.DisconnectRequest
    assert set(sent.keys()) == {
        "Message-Authenticator",
        "User-Name",
        "NAS-IP-Address",
        "Event-Timestamp",
        "Acct-Session-Id",
        "Framed-IP-Address",
    }


def test_a_session_with_changes_gets_a_signed_coa_request_carrying_them() -> None:
    changes = (("Session-Timeout", 3600), ("Mikrotik-Rate-Limit", "4M/8M"))
    sent = decoded(dataclasses.replace(TARGET, changes=changes))
    assert sent.code == packet.CoARequest
    assert sent.VerifyCoARequest()
    assert sent["Session-Timeout"] == [3600]
    assert sent["Mikrotik-Rate-Limit"] == ["4M/8M"]
    assert sent["Acct-Session-Id"] == ["81a0000f"]


@pytest.mark.parametrize("code", [packet.CoAACK, packet.DisconnectACK])
def test_either_ack_is_an_ack(code: int) -> None:
    request = request_packet(TARGET, 1)
    reply = request.CreateReply()
    reply.code = code
    assert result_of(reply).answer is Answer.ACK


@pytest.mark.parametrize(
    ("answer", "cause", "final", "outcome"),
    [
        ("ack", None, False, "changed"),
        ("nak", 503, False, "stale"),
        ("nak", 405, False, "retry"),
        ("timeout", None, False, "retry"),
        ("nak", 405, True, "fallback"),
        ("timeout", None, True, "fallback"),
    ],
)
def test_what_an_answer_to_a_coa_request_means(
    answer: str, cause: int | None, final: bool, outcome: str
) -> None:
    result = AttemptResult(answer, cause, answer == "ack" or cause == 503)
    assert outcome_of(result, final, "coa") == outcome


def test_a_disconnect_request_that_keeps_failing_gives_up_without_a_fallback() -> None:
    assert outcome_of(AttemptResult("timeout", None, False), True) == "failed"
    assert outcome_of(AttemptResult("ack", None, True), False) == "disconnected"


NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def test_the_session_timeout_counts_from_the_login_to_the_end_of_validity() -> None:
    started = NOW - dt.timedelta(minutes=50)
    assert session_timeout(started, NOW + dt.timedelta(minutes=70), NOW) == 2 * 3600
    assert session_timeout(None, NOW + dt.timedelta(seconds=90), NOW) == 90
    assert session_timeout(NOW, NOW - dt.timedelta(seconds=5), NOW) == 1


def test_a_usage_quota_ending_first_ends_the_session_sooner() -> None:
    started = NOW - dt.timedelta(minutes=50)
    ends = NOW + dt.timedelta(days=30)
    assert session_timeout(started, ends, NOW, time_left=600) == 3600
    assert session_timeout(started, NOW + dt.timedelta(minutes=5), NOW, time_left=600) == 3300
