"""Webhooks in the domain: which notices a committed action owes, what they carry, how they
are signed, and when a failed delivery is tried again. Pure, with time and ids passed in."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from harness import POLICIES
from parley import policy_files
from parley.domain import conversation as rules
from parley.domain import moderation
from parley.domain.bans import place
from parley.domain.conversation import ClientContext, Transition
from parley.domain.deliveries import (
    MAX_ATTEMPTS,
    MAX_DELAY,
    Attempt,
    Delivery,
    DeliveryState,
    fan_out,
    retry_delay,
    signed_headers,
)
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Author, Role, format_time
from parley.domain.webhooks import (
    Endpoint,
    EventType,
    Notice,
    bar_lifted,
    endpoint_url,
    new_secret,
    notices_of,
    policy_published,
    subscription,
)
from parley.errors import InvalidWebhook

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AGENT = Author(Role.AGENT, "s_alice", "Alice")
SECRET = new_secret(bytes(range(24)))
SAID = "you are all useless idiots"


@functools.cache
def v2() -> PolicyVersion:
    return max(policy_files.load_folder(POLICIES), key=lambda v: v.version)


def started(language: str = "en") -> Transition:
    offered = v2()
    text = offered.for_language(language)
    return rules.start(
        conversation_id="c_1", visitor_id="v_1", previous=None, offered=offered,
        answer=text.ref, client=ClientContext("198.51.100.7", "Firefox"), at=T0,
    )  # fmt: skip


def joined(language: str = "en") -> Transition:
    t = started(language)
    said = rules.visitor_message(t.conversation, SAID, "m1", T0)
    return rules.agent_join(said.conversation, AGENT, T0) or said


def test_a_started_conversation_tells_its_policy_and_nothing_personal() -> None:
    """conversation.started: ids and the accepted version, never the address or user agent."""
    (notice,) = notices_of(started())
    assert notice.type is EventType.CONVERSATION_STARTED
    assert notice.at == "2026-11-01T12:00:00.000Z"
    assert notice.data == {
        "conversation_id": "c_1", "visitor_id": "v_1",
        "policy": {"policy_id": "conduct", "version": 2, "language": "en",
                   "sha256": v2().sha256},
    }  # fmt: skip
    assert "198.51.100.7" not in json.dumps(notice.to_dict())


def test_a_message_or_a_join_owes_no_notice() -> None:
    t = started()
    said = rules.visitor_message(t.conversation, SAID, "m1", T0)
    assert notices_of(said) == []
    joined_in = rules.agent_join(said.conversation, AGENT, T0)
    assert joined_in is not None and notices_of(joined_in) == []


def test_a_resolution_names_the_agent() -> None:
    t = rules.resolve(joined().conversation, AGENT, "all sorted", T0)
    (notice,) = notices_of(t)
    assert notice.type is EventType.CONVERSATION_RESOLVED
    assert notice.data == {"conversation_id": "c_1", "visitor_id": "v_1", "agent_id": "s_alice"}


def test_a_warning_carries_the_clause_as_the_visitor_read_it_never_their_words() -> None:
    """visitor.warned: the clause in the accepted language; quoted messages stay out."""
    opened = started("de").conversation
    said = rules.visitor_message(opened, SAID, "m1", T0)
    joined_in = rules.agent_join(said.conversation, AGENT, T0)
    assert joined_in is not None
    accepted = v2().for_language("de")
    warned = moderation.warn(
        joined_in.conversation, accepted, AGENT, "1.1", "a note", [said.event], T0,
        governing=v2(),
    )  # fmt: skip
    (notice,) = notices_of(warned)
    assert notice.type is EventType.VISITOR_WARNED
    clause = accepted.clause("1.1")
    assert notice.data["clause"] == {
        "policy_id": "conduct", "version": 2, "language": "de", "clause_id": "1.1",
        "title": clause.title, "text": clause.text,
    }  # fmt: skip
    assert SAID not in json.dumps(notice.to_dict())
    assert "a note" not in json.dumps(notice.to_dict())


def test_a_closure_with_a_bar_tells_both_the_closure_first() -> None:
    """conversation.closed cites the clause and names the bar; bar.created follows, without
    the barred address."""
    t = joined()
    ban = place(
        {"hours": 24, "ip": True}, ban_id="b_1", visitor_id="v_1", visitor_ip="198.51.100.7",
        conversation_id="c_1", clause={"id": "1.2", "title": "T", "text": "X"}, by="s_alice",
        at=T0,
    )  # fmt: skip
    closed = replace(
        moderation.close_for_violation(t.conversation, v2(), AGENT, "1.2", None, T0), ban=ban
    )
    closure, bar = notices_of(closed)
    assert closure.type is EventType.CONVERSATION_CLOSED
    assert closure.data["clause"]["clause_id"] == "1.2"
    assert closure.data["clause"]["text"] == v2().clause("1.2").text
    assert closure.data["bar_id"] == "b_1" and closure.data["agent_id"] == "s_alice"
    assert bar.type is EventType.BAR_CREATED
    assert bar.data["until"] == format_time(T0 + timedelta(hours=24))
    assert bar.data["by_address"] is True
    assert "198.51.100" not in json.dumps(bar.to_dict())
    assert closure.id != bar.id


def test_a_notice_id_names_its_event() -> None:
    """Notice ids come from the conversation, the event's seq and the type: one per event."""
    t = started()
    assert [n.id for n in notices_of(t)] == [n.id for n in notices_of(started())]
    other = replace(t, conversation=replace(t.conversation, id="c_2"))
    assert notices_of(other)[0].id != notices_of(t)[0].id


def test_a_lifted_bar_and_a_published_policy() -> None:
    ban = place(
        {"hours": None}, ban_id="b_2", visitor_id="v_1", visitor_ip=None,
        conversation_id="c_1", clause={"id": "1.2", "title": "T", "text": "X"}, by="s_alice",
        at=T0,
    )  # fmt: skip
    lifted = bar_lifted(ban.lifted("s_admin", "the appeal names a person", T0))
    assert lifted.type is EventType.BAR_LIFTED and lifted.data["lifted_by"] == "s_admin"
    assert "appeal" not in json.dumps(lifted.to_dict()), "the reason is personal data"
    published = policy_published(v2(), ["de", "fr"], T0)
    assert published.type is EventType.POLICY_PUBLISHED
    assert published.data["languages"] == ["de", "fr"] and published.data["version"] == 2
    assert published.id != policy_published(v2(), ["en"], T0).id


def test_the_payload_is_signed_the_standard_webhooks_way() -> None:
    """Signature: a receiver verifies it with the standardwebhooks library and the secret."""
    (notice,) = notices_of(started())
    now = datetime.now(UTC)
    headers = signed_headers(notice, SECRET, now)
    assert headers["webhook-id"] == notice.id
    assert headers["webhook-signature"].startswith("v1,")
    body = Webhook(SECRET).verify(notice.payload(), headers)
    assert body == {"type": "conversation.started", "timestamp": notice.at,
                    "data": json.loads(json.dumps(notice.data))}  # fmt: skip
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret(bytes(24))).verify(notice.payload(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(notice.payload().replace(b"c_1", b"c_2"), headers)


def test_a_secret_is_whsec_and_at_least_24_bytes() -> None:
    assert SECRET.startswith("whsec_")
    with pytest.raises(ValueError, match="24 random bytes"):
        new_secret(bytes(16))


def test_backoff_doubles_from_the_base_up_to_a_cap_then_gives_up() -> None:
    """Retries: base, 2 base, 4 base, ...; none after MAX_ATTEMPTS attempts."""
    assert [retry_delay(n, 5) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (5, 10, 20)]
    assert retry_delay(MAX_ATTEMPTS - 1, 3600) == MAX_DELAY
    assert retry_delay(MAX_ATTEMPTS, 5) is None


def test_a_delivery_is_retried_until_it_succeeds_or_runs_out() -> None:
    (notice,) = notices_of(started())
    d = Delivery("dlv_1", "whk_1", notice, format_time(T0), next_at=format_time(T0))
    failed = d.tried(Attempt(format_time(T0), 500, None, 12), base=5)
    assert failed.state is DeliveryState.PENDING
    assert failed.next_at == format_time(T0 + timedelta(seconds=5))
    done = failed.tried(Attempt(format_time(T0 + timedelta(seconds=5)), 204, None, 3), base=5)
    assert done.state is DeliveryState.DELIVERED and done.next_at is None
    assert len(done.attempts) == 2
    for n in range(MAX_ATTEMPTS):
        d = d.tried(Attempt(format_time(T0), None, "could not connect", 1), base=5)
        assert d.state is (DeliveryState.FAILED if n == MAX_ATTEMPTS - 1 else DeliveryState.PENDING)
    assert Delivery.from_dict(json.loads(json.dumps(done.to_dict()))) == done
    redirected = failed.tried(Attempt(format_time(T0), 302, None, 1), base=5)
    assert redirected.state is DeliveryState.PENDING, "a redirect is not a success"


def endpoint(events: tuple[str, ...], deleted: str | None = None, n: int = 1) -> Endpoint:
    return Endpoint(f"whk_{n}", "https://hooks.example/in", events, SECRET,
                    format_time(T0), "s_admin", deleted_at=deleted)  # fmt: skip


def test_fan_out_goes_to_the_endpoints_that_want_each_notice() -> None:
    opened = notices_of(started())[0]
    resolved = notices_of(rules.resolve(joined().conversation, AGENT, None, T0))[0]
    every = endpoint(("*",), n=1)
    closures = endpoint(("conversation.resolved",), n=2)
    gone = endpoint(("*",), deleted=format_time(T0), n=3)
    made = fan_out([opened, resolved], [every, closures, gone], T0)
    assert [(d.notice.type.value, d.endpoint_id) for d in made] == [
        ("conversation.started", "whk_1"),
        ("conversation.resolved", "whk_1"),
        ("conversation.resolved", "whk_2"),
    ]
    assert fan_out([opened, resolved], [every, closures, gone], T0) == made, "same ids again"
    assert "secret" not in every.view() and every.view()["events"] == ["*"]


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example/", "hooks.example/in", "https://", "https://user:pw@hooks.example/",
     "https://hooks.example/in#frag", "https://hooks.example/a b", "javascript:alert(1)",
     "http://hooks.example:0/", "http://[::1/"],
)  # fmt: skip
def test_an_endpoint_url_must_be_plain_http_or_https(url: str) -> None:
    with pytest.raises(InvalidWebhook, match="url"):
        endpoint_url(url)


def test_good_urls_are_kept_as_given() -> None:
    for url in ("https://hooks.example/in?token=abc", "http://127.0.0.1:8080/hook"):
        assert endpoint_url(url) == url


def test_a_subscription_names_known_types_or_all() -> None:
    assert subscription(["bar.created", "bar.lifted"]) == ("bar.created", "bar.lifted")
    assert subscription(["*"]) == ("*",)
    for bad, message in (([], "at least one"), (["conversation.opened"], "not an event type"),
                         (["*", "bar.created"], "name it alone")):  # fmt: skip
        with pytest.raises(InvalidWebhook, match=message):
            subscription(bad)


def test_notices_round_trip() -> None:
    for notice in notices_of(started()):
        assert Notice.from_dict(json.loads(json.dumps(notice.to_dict()))) == notice
