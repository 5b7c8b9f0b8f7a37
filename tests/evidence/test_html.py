"""The printable evidence document: complete, exact, local times, safe, printable."""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley import policy_files
from parley.domain import assignment, merkle, moderation
from parley.domain import conversation as conv
from parley.domain.anchor import ORIGIN, Checkpoint, Leaf, key_id, public_bytes, sign
from parley.domain.audit import OPERATOR, Actor, AuditAction, AuditDraft, AuditEntry
from parley.domain.conversation import ClientContext, Conversation, Transition
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Author, Event, Role, format_time
from parley.evidence import verify
from parley.evidence.html import render
from parley.keys import public_key_base64
from translated import with_german

POLICIES = Path(__file__).resolve().parents[2] / "policies"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
SHOUT = "WHERE IS MY ORDER???"
IMG = '"><img src=x onerror=alert(1)>'
BREAKOUT = "</div></li></ul></td></tr></table>" + SCRIPT
VOID = frozenset({"meta", "br"})
HEADINGS = [
    "1. Acceptance of the conduct policy",
    "2. The policy text accepted, in full",
    "3. Transcript",
    "4. Closure",
    "5. Agents involved",
    "6. Audit trail for this conversation",
    "7. Integrity and how to verify",
]


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def v2() -> PolicyVersion:
    return next(v for v in policy_files.load_folder(POLICIES) if v.version == 2)


def make_bundle(
    policy: PolicyVersion,
    *,
    time_zone: str | None = "Europe/Paris",
    ending: str = "closed",
    message: str = "My order #1042 never arrived.",
    agent_name: str = "Ada",
    note: str = "Threat against staff.",
    threat: str = "I know where you work.",
    warning_note: str = "Please stop shouting.",
    user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    page_url: str = "https://shop.example/help",
    governing: PolicyVersion | None = None,
) -> dict[str, Any]:
    """A bundle shaped as ``service.evidence.export`` builds it, from the pure domain.

    ``policy`` is the text the visitor accepted; ``governing``, the text it translates.

    The visitor writes ``message`` (event 2), shouts (event 5) and is warned under clause
    4.1 quoting both (event 6), then writes ``threat`` (event 7); with ``ending="closed"``
    the agent closes the conversation under clause 1.2 quoting the threat (event 8).
    """
    governs = governing or policy
    client = ClientContext("203.0.113.7", user_agent, "fr-FR", page_url, "w-1.0", time_zone)
    agent = Author(Role.AGENT, "s_ada", agent_name)
    step = conv.start(conversation_id="c_1", visitor_id="v_1", previous=None, offered=policy,
                      answer=policy.ref, client=client, at=T0)  # fmt: skip
    events: list[Event] = [step.event]
    steps: list[Callable[[Conversation], Transition | None]] = [
        lambda c: conv.visitor_message(c, message, "m1", t(1)),
        lambda c: conv.agent_join(c, agent, t(2)),
        lambda c: conv.agent_reply(c, agent, "Let me check.", "r1", t(3)),
        lambda c: conv.visitor_message(c, SHOUT, "m2", t(3.2)),
        lambda c: moderation.warn(
            c,
            policy,
            agent,
            "4.1",
            warning_note,
            [events[1], events[4]],
            t(3.4),
            governing=governing,
        ),
        lambda c: conv.visitor_message(c, threat, "m3", t(4)),
    ]
    if ending == "closed":
        steps.append(
            lambda c: moderation.close_for_violation(
                c, policy, agent, "1.2", note, t(5), [events[6]], governing=governing
            )
        )
    elif ending == "resolved":
        steps.append(lambda c: conv.resolve(c, agent, note, t(5)))
    current = step.conversation
    for make in steps:
        done = make(current)
        assert done is not None
        current = done.conversation
        events.append(done.event)
    actor = Actor("s_ada", agent_name, "agent")
    drafts = [
        AuditDraft(actor, AuditAction.AGENT_JOINED, "c_1", details={"seq": 3}),
        AuditDraft(actor, AuditAction.WARNED, "c_1", details={"seq": 6, "clause_id": "4.1"}),
        AuditDraft(OPERATOR, AuditAction.EVIDENCE_EXPORTED, "c_1"),
    ]
    audit: list[AuditEntry] = []
    for i, draft in enumerate(drafts):
        previous = audit[-1] if audit else None  # every entry is about c_1: one thread
        audit.append(draft.after(previous, previous, t(300) if i == len(drafts) - 1 else t(10 + i)))
    key = Ed25519PrivateKey.generate()
    leaf = Leaf("c_1", current.last_seq, current.head_hash, audit[-1].hash, format_time(t(6)))
    others = [Leaf(f"c_{n}", 1, "ab" * 32, None, format_time(t(6))).hash() for n in (7, 8)]
    hashes = [others[0], leaf.hash(), others[1]]
    public = public_bytes(key.public_key())
    checkpoint = Checkpoint(ORIGIN, 3, merkle.root(hashes).hex(), format_time(t(6)), key_id(public))
    last = events[-1]
    accepted = {"accepted_at": events[0].at, "event_hash": events[0].hash, **events[0].data}
    return {
        "format": "parley-evidence/1",
        "generated_at": format_time(t(300)),
        "generated_by": OPERATOR.to_dict(),
        "conversation": current.to_dict(),
        "acceptance": {"conversation_id": "c_1", **accepted},
        "transcript": [e.to_dict() for e in events],
        "closure": last.to_dict() if last.type.value in ("closed", "resolved") else None,
        "agents": [{"id": "s_ada", "name": agent_name, "role": "agent"}],
        "audit": [a.to_dict() for a in audit],
        "anchor": {
            "leaf": leaf.to_dict(),
            "leaf_index": 1,
            "inclusion_proof": [h.hex() for h in merkle.inclusion_proof(1, hashes)],
            "checkpoint": checkpoint.to_dict(),
            "signature": sign(key, checkpoint),
            "public_key": public_key_base64(key),
        },
        "how_to_verify": "Run `parley evidence verify THIS_FILE.json --public-key KEY`.",
        "governing": {"language": governs.language, "sha256": governs.sha256,
                      "text": governs.text},
    }  # fmt: skip


@pytest.fixture
def bundle(v2: PolicyVersion) -> dict[str, Any]:
    return make_bundle(v2)


class Structure(HTMLParser):
    """Collects tags and attributes, and fails on any element closed out of order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []
        self.doctype = ""
        self.problems: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing open")


def parse(document: str) -> Structure:
    parser = Structure()
    parser.feed(document)
    parser.close()
    return parser


def pre_block(document: str, kind: str) -> str:
    found = re.search(f'<pre class="{kind}">(.*?)</pre>', document, re.DOTALL)
    assert found, f"no <pre class={kind}>"
    return html.unescape(found.group(1))


def local_times(document: str) -> list[str]:
    return re.findall(r'<span class="local">\((.*?)\)</span>', document)


def test_the_test_bundle_is_a_valid_evidence_bundle(bundle: dict[str, Any]) -> None:
    """The fixture must stay in the exported format, or these tests prove nothing."""
    report = verify.verify(bundle)
    assert report.ok, report.failure


def test_every_section_is_present_under_its_title(bundle: dict[str, Any]) -> None:
    document = render(bundle)
    assert "<title>Evidence record — conversation c_1</title>" in document
    assert "<h1>Evidence record — conversation c_1</h1>" in document
    positions = [document.index(f"<h2>{h}</h2>") for h in HEADINGS]
    assert positions == sorted(positions), "the sections are out of order"


def test_the_document_is_well_formed_html5(bundle: dict[str, Any]) -> None:
    document = render(bundle)
    parsed = parse(document)
    assert parsed.doctype.lower() == "doctype html"
    assert parsed.problems == []
    assert parsed.open == [], f"left open: {parsed.open}"
    assert '<meta charset="utf-8">' in document
    assert '<meta name="viewport"' in document


def test_the_summary_names_visitor_policy_outcome_and_agents(
    bundle: dict[str, Any], v2: PolicyVersion
) -> None:
    summary = render(bundle).split("<h2>1.")[0]
    for expected in ["v_1", "Chat Conduct Policy", "version 2", v2.sha256, "Ada", "operator"]:
        assert expected in summary
    assert "Closed for violation of clause 1.2 “Threats and reprisals against staff”" in summary
    assert "2026-03-01 09:00:00 UTC" in summary  # accepted at
    assert "2026-03-01 09:05:00 UTC" in summary  # generated at: the bundle's, not the clock's


def test_every_acceptance_field_is_shown_with_the_statement(bundle: dict[str, Any]) -> None:
    acceptance = render(bundle).split("<h2>1.")[1].split("<h2>2.")[0]
    record = bundle["acceptance"]
    for key in ["ip", "user_agent", "locale", "time_zone", "page_url", "widget_build",
                "sha256", "event_hash", "visitor_id"]:  # fmt: skip
        assert html.escape(record[key]) in acceptance, key
    assert "ticks the acceptance box" in acceptance
    assert "echoes the policy id, version and SHA-256 digest" in acceptance


def test_the_widget_row_says_whether_the_build_was_the_one_served(bundle: dict[str, Any]) -> None:
    """Build on record: the printable page says which build ran, and whether it was stale."""
    served, older = "a" * 64, "b" * 64

    def widget_row(**fields: Any) -> str:
        acceptance = {**bundle["acceptance"], **fields}
        page = render({**bundle, "acceptance": acceptance})
        row = page.split('<th scope="row">Widget</th><td>')[1].split("</td>")[0]
        return re.sub(r"<[^>]+>", "", row).strip()

    assert widget_row(widget_sha256=served, widget_served_sha256=served, widget_stale=False) == (
        f"build w-1.0, SHA-256 {served} (the build this server served)"
    )
    assert widget_row(widget_sha256=older, widget_served_sha256=served, widget_stale=True) == (
        f"build w-1.0, SHA-256 {older}, an older build (stale); this server served SHA-256 {served}"
    )
    assert widget_row(widget_sha256=None, widget_served_sha256=served, widget_stale=None) == (
        "build w-1.0, SHA-256 not known (whether it was the build served is not known; "
        f"this server served SHA-256 {served})"
    )
    earlier = {k: v for k, v in bundle["acceptance"].items() if not k.startswith("widget_")}
    earlier_page = render({**bundle, "acceptance": {**earlier, "widget_build": "w-0.9"}})
    assert '<th scope="row">Widget</th><td>build w-0.9</td>' in earlier_page


def test_the_accepted_text_appears_exactly_and_its_digest_is_checked(
    bundle: dict[str, Any], v2: PolicyVersion
) -> None:
    document = render(bundle)
    assert pre_block(document, "policy-text") == v2.text
    assert "matches the recorded digest" in document
    bundle["acceptance"]["text"] = v2.text.replace("Do not", "Please do not", 1)
    assert "does NOT match</strong> the recorded digest" in render(bundle)


def test_the_closure_quotes_the_cited_clause_exactly(
    bundle: dict[str, Any], v2: PolicyVersion
) -> None:
    closure = render(bundle).split("<h2>4.")[1].split("<h2>5.")[0]
    assert pre_block(closure, "clause-text") == v2.clause("1.2").text
    assert "1.2 Threats and reprisals against staff" in closure
    assert "Threat against staff." in closure
    assert "2026-03-01 09:00:05 UTC" in closure
    assert "It appears word for word" in closure
    bundle["closure"]["data"]["clause"]["text"] = "Be nice."
    assert "<strong>does NOT appear</strong>" in render(bundle)


def test_a_closure_of_a_translation_shows_the_governing_clause_beside_the_quoted_one(
    v2: PolicyVersion,
) -> None:
    """Issue 16: the page quotes the clause as the visitor read it (marked as German) and the
    governing English clause beside it; an English closure shows no such block."""
    governing = with_german(v2)
    german = governing.for_language("de")
    closure = section_of(render(make_bundle(german, governing=governing)), 4)
    assert re.findall(r'<pre class="clause-text">(.*?)</pre>', closure, re.DOTALL) == [
        german.clause("1.2").text,
        html.escape(v2.clause("1.2").text, quote=False),
    ]
    assert '<blockquote lang="de" dir="ltr"><p class="clause-title">1.2 Regel 1.2</p>' in closure
    assert '<blockquote lang="en" dir="ltr"><p class="clause-title">1.2 Threats' in closure
    assert f'governing text (en, SHA-256 <span class="mono">{v2.sha256}</span>)' in closure
    assert "It appears word for word" in closure
    assert "governing text" not in section_of(render(make_bundle(v2)), 4)


def section_of(document: str, number: int) -> str:
    return document.split(f"<h2>{number}.")[1].split(f"<h2>{number + 1}.")[0]


def row_of(transcript: str, seq: int) -> str:
    found = re.search(f"<tr><td>{seq}</td>(.*?)</tr>", transcript, re.DOTALL)
    assert found, f"no transcript row for event {seq}"
    return found.group(1)


def divs(html_text: str, kind: str) -> list[str]:
    """The text of every ``<div class=kind>``, unescaped."""
    found = re.findall(f'<div class="{kind}" dir="auto">(.*?)</div>', html_text, re.DOTALL)
    return [html.unescape(f) for f in found]


def test_a_warning_is_shown_with_its_clause_note_and_quoted_messages(
    bundle: dict[str, Any],
) -> None:
    """The warning's row names the clause (id and title), the agent's note, and each
    message it quotes, checked against the event it names; the conversation goes on."""
    warning = bundle["transcript"][5]
    assert warning["type"] == "warning"
    assert warning["data"]["messages"] == [
        {"seq": 2, "text": "My order #1042 never arrived."},
        {"seq": 5, "text": SHOUT},
    ]
    row = row_of(section_of(render(bundle), 3), 6)
    assert "Warned the visitor under clause 4.1 “Flooding”" in row
    assert "the conversation stays open" in row
    assert divs(row, "note") == ["Please stop shouting."]
    assert divs(row, "quote") == ["My order #1042 never arrived.", SHOUT]
    assert "Event 2 — matches the visitor's message there, word for word" in row
    assert "Event 5 — matches the visitor's message there, word for word" in row
    assert "Ada" in row and "s_ada" in row


def test_the_closure_shows_the_messages_cited_and_the_notice_shown(
    bundle: dict[str, Any],
) -> None:
    """Section 4 quotes the messages the agent cited, each checked against the
    transcript, and the notice the visitor was shown, exactly (line breaks kept)."""
    closure = section_of(render(bundle), 4)
    data = bundle["closure"]["data"]
    assert data["messages"] == [{"seq": 7, "text": "I know where you work."}]
    order = ["The clause cited", "<h3>The messages cited</h3>",
             "<h3>The notice the visitor was shown</h3>"]  # fmt: skip
    positions = [closure.index(o) for o in order]
    assert positions == sorted(positions)
    cited = closure.split("<h3>The messages cited</h3>")[1].split("<h3>")[0]
    assert divs(cited, "quote") == ["I know where you work."]
    assert "Event 7 — matches the visitor's message there, word for word" in cited
    assert divs(closure, "notice") == [data["notice"]]
    assert "\n\nFor example:\n- “I know where you work.”\n\n" in data["notice"]
    assert "quoting the reference c_1." in data["notice"]


def test_the_closure_without_cited_messages_says_so(bundle: dict[str, Any]) -> None:
    bundle["closure"]["data"]["messages"] = []
    cited = section_of(render(bundle), 4).split("<h3>The messages cited</h3>")[1]
    assert '<p class="missing">No message cited.</p>' in cited


QUOTE_FORGERIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "reworded": lambda q: q.update(text="I know where you shop."),
    "an agent's message": lambda q: q.update(seq=4, text="Let me check."),
    "a later message": lambda q: q.update(seq=8),
    "no such event": lambda q: q.update(seq=99),
}


@pytest.mark.parametrize("forgery", QUOTE_FORGERIES)
def test_a_quote_that_is_not_the_visitors_earlier_message_is_flagged(
    bundle: dict[str, Any], forgery: str
) -> None:
    """Like the clause, each quote is checked against the record as the page is made."""
    QUOTE_FORGERIES[forgery](bundle["closure"]["data"]["messages"][0])
    closure = section_of(render(bundle), 4)
    assert "<strong>does NOT match</strong> a message the visitor sent before" in closure
    assert "matches the visitor's message there" not in closure


def test_a_resolved_and_an_open_conversation_say_so(v2: PolicyVersion) -> None:
    resolved = render(make_bundle(v2, ending="resolved", note="Order found."))
    assert "<td>Resolved</td>" in resolved
    assert "The conversation was resolved by Ada" in resolved
    assert "Order found." in resolved
    still_open = render(make_bundle(v2, ending="open"))
    assert "Open: not ended when this record was generated" in still_open
    assert "was still open when this record was generated" in still_open
    for document in (resolved, still_open):
        assert "The messages cited" not in document and "The notice the visitor" not in document
        assert "Warned the visitor under clause 4.1" in section_of(document, 3)


def test_the_transcript_lists_every_event_with_its_short_hash(bundle: dict[str, Any]) -> None:
    transcript = render(bundle).split("<h2>3.")[1].split("<h2>4.")[0]
    for event in bundle["transcript"]:
        assert f'title="{event["hash"]}">{event["hash"][:12]}</span>' in transcript
    assert "My order #1042 never arrived." in transcript
    assert "Joined the conversation." in transcript
    assert "Closed the conversation for violation of clause 1.2" in transcript
    assert transcript.count("<td>Visitor</td>") == 4


def test_agents_audit_and_integrity_are_shown(bundle: dict[str, Any]) -> None:
    document = render(bundle)
    text = html.unescape(document)
    assert "s_ada" in document.split("<h2>5.")[1]
    for action in ["agent joined", "evidence exported", "transcript event 3", "warned",
                   "transcript event 6, clause 4.1"]:  # fmt: skip
        assert action in document.split("<h2>6.")[1]
    anchor = bundle["anchor"]
    assert len(anchor["inclusion_proof"]) == 2
    for value in [*anchor["inclusion_proof"], anchor["checkpoint"]["root_hash"],
                  anchor["checkpoint"]["key_id"], anchor["leaf"]["head_hash"], ORIGIN]:  # fmt: skip
        assert value in document
    assert anchor["signature"] in text
    assert anchor["leaf"]["audit_head"] in document
    assert "none can be removed unnoticed" in document
    command = f"parley evidence verify evidence-c_1.json --public-key {anchor['public_key']}"
    assert command in text
    assert "THIS_FILE.json" in text  # how_to_verify, as the bundle says it


def test_times_show_the_visitors_local_time_beside_utc(bundle: dict[str, Any]) -> None:
    document = render(bundle)
    assert '2026-03-01 09:00:01 UTC <span class="local">(10:00:01 Europe/Paris)</span>' in (
        document
    )
    times = re.findall(r'<span class="time">(.*?)</span></span>', document)
    assert len(times) >= 10 and all("Europe/Paris" in t for t in times)


def test_the_local_date_is_shown_when_it_is_another_day(v2: PolicyVersion) -> None:
    document = render(make_bundle(v2, time_zone="Pacific/Honolulu"))
    assert "2026-02-28 23:00:00 Pacific/Honolulu" in local_times(document)


@pytest.mark.parametrize(
    "zone", [None, "Not/AZone", "", "localtime", "../../etc/passwd", "Europe", "Europe/Paris\x00"]
)
def test_an_unknown_time_zone_shows_utc_only(v2: PolicyVersion, zone: str | None) -> None:
    document = render(make_bundle(v2, time_zone=zone))
    assert local_times(document) == []
    assert "2026-03-01 09:00:00 UTC" in document
    assert "times are shown in UTC only" in document


def test_an_older_bundle_without_a_time_zone_renders_in_utc(bundle: dict[str, Any]) -> None:
    del bundle["acceptance"]["time_zone"]
    document = render(bundle)
    assert local_times(document) == []
    assert "2026-03-01 09:00:00 UTC" in document


def test_hostile_values_appear_only_escaped(v2: PolicyVersion) -> None:
    """Visitor and staff text is data: no markup from the bundle ever reaches the page."""
    bundle = make_bundle(v2, message=SCRIPT + IMG, user_agent=IMG + SCRIPT,
                         page_url="javascript:" + IMG, agent_name=SCRIPT + IMG,
                         note=IMG + SCRIPT, threat=BREAKOUT, warning_note=SCRIPT,
                         time_zone=IMG)  # fmt: skip
    bundle["acceptance"]["locale"] = SCRIPT
    bundle["generated_by"]["name"] = IMG
    bundle["how_to_verify"] += SCRIPT
    document = render(bundle)
    assert "<script" not in document.lower()
    assert "<img" not in document.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in document  # markupsafe spells " &#34;
    parsed = parse(document)
    assert parsed.problems == [] and parsed.open == []
    allowed = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p",
               "section", "div", "table", "thead", "tbody", "tr", "th", "td", "span", "br",
               "pre", "blockquote", "ol", "ul", "li", "code", "strong", "h3"}  # fmt: skip
    assert parsed.tags <= allowed
    names = {name for name, _ in parsed.attrs}
    assert names <= {"lang", "charset", "name", "content", "http-equiv", "id", "class",
                     "scope", "title", "dir", "aria-label"}  # fmt: skip
    # The quoted messages (in the warning's row and in section 4) and the notice, which
    # quotes the threat, hold the payloads as text.
    warning = row_of(section_of(document, 3), 6)
    assert divs(warning, "quote") == [SCRIPT + IMG, SHOUT]
    assert divs(warning, "note") == [SCRIPT]
    closure = section_of(document, 4)
    assert divs(closure, "quote") == [BREAKOUT]
    assert "Event 7 — matches the visitor's message there" in closure
    (notice,) = divs(closure, "notice")
    assert notice == bundle["closure"]["data"]["notice"] and f"“{BREAKOUT}”" in notice
    escaped = html.escape(BREAKOUT, quote=True)
    assert closure.count(escaped) == 2, "in the quote and in the notice, escaped"


def test_a_hostile_conversation_id_cannot_leave_the_style_sheet(bundle: dict[str, Any]) -> None:
    bundle["conversation"]["id"] = 'c_1"; } </style>' + SCRIPT
    document = render(bundle)
    assert document.count("</style>") == 1
    assert "<script" not in document.lower()
    style = document.split("<style>")[1].split("</style>")[0]
    assert 'content: "Evidence record \\2014  conversation c_1stylescriptalert1script"' in style


def test_invisible_characters_in_messages_are_made_visible(v2: PolicyVersion) -> None:
    hidden = "pay\u202eli\u200bnk\x1b"
    document = render(make_bundle(v2, message=hidden, threat=hidden))
    assert "\u202e" not in document and "\u200b" not in document and "\x1b" not in document
    for code in ["[U+202E]", "[U+200B]", "[U+001B]"]:
        assert code in document
    shown = "pay[U+202E]li[U+200B]nk[U+001B]"
    assert shown in html.unescape(re.sub("<[^>]+>", "", row_of(section_of(document, 3), 6)))
    closure = html.unescape(re.sub("<[^>]+>", "", section_of(document, 4)))
    assert closure.count(shown) == 2, "in the quoted message and in the notice"


def test_the_print_css_breaks_pages_where_a_reader_needs_them(bundle: dict[str, Any]) -> None:
    document = render(bundle)
    style = document.split("<style>")[1].split("</style>")[0]
    assert "@media print" in style and "@page" in style
    assert re.search(r"\.policy \{[^}]*break-before: page", style), "section 2 on a new page"
    assert '<section id="policy" class="policy">' in document
    assert re.search(r"(^|\n)tr[^{]*\{[^}]*break-inside: avoid", style), "rows never split"
    assert re.search(r"h2[^{]*\{[^}]*break-after: avoid", style), "no orphan headings"
    assert re.search(r"overflow-wrap: anywhere", style), "long hashes and URLs wrap"


def test_the_document_loads_nothing_and_runs_nothing(bundle: dict[str, Any]) -> None:
    document = render(bundle)
    assert "default-src 'none'" in document
    for banned in ["<script", "<link", "<img", "<iframe", "<object", "@import", "url(", "src="]:
        assert banned not in document.lower()


def test_render_is_pure(bundle: dict[str, Any]) -> None:
    before = copy.deepcopy(bundle)
    first = render(bundle)
    assert bundle == before
    assert render(copy.deepcopy(bundle)) == first


def test_assignment_changes_are_shown_in_the_transcript(v2: PolicyVersion) -> None:
    bundle = make_bundle(v2, ending="open")
    ada, bob = Author(Role.AGENT, "s_ada", "Ada"), Author(Role.AGENT, "s_bob", "Bob <b>")
    current = Conversation.from_dict(bundle["conversation"])
    for change in (
        lambda c: assignment.claim(c, ada, t(6)),
        lambda c: assignment.transfer(c, ada, False, bob, t(7)),
        lambda c: assignment.release(c, bob, False, t(8)),
    ):
        step = change(current)
        current = step.conversation
        bundle["transcript"].append(step.event.to_dict())
    transcript = section_of(render(bundle), 3)
    assert "Assigned the conversation to Ada (claimed)." in transcript
    assert "Assigned the conversation to Bob &lt;b&gt; (transferred)." in transcript
    assert "Put the conversation back in the queue (released)." in transcript


def test_a_german_acceptance_says_which_text_governs_and_prints_it_too(v2: PolicyVersion) -> None:
    governing = with_german(v2)
    de = governing.for_language("de")
    bundle = make_bundle(de, governing=governing)
    assert verify.verify(bundle).ok
    document = render(bundle)
    assert (
        "Accepted in Deutsch (de); the English (en) text governs, SHA-256 "
        f'<span class="mono">{v2.sha256}</span>'
    ) in document
    assert pre_block(document, "policy-text") == de.text
    after = document.split("The governing text, in English (en)", 1)[1]
    assert pre_block(after, "policy-text") == v2.text
    assert "does NOT match" not in document


def test_an_edited_governing_text_is_refused_and_shown_as_not_matching(v2: PolicyVersion) -> None:
    governing = with_german(v2)
    bundle = make_bundle(governing.for_language("de"), governing=governing)
    bundle["governing"]["text"] = v2.text.replace("agent", "bot", 1)
    report = verify.verify(bundle)
    assert not report.ok
    assert report.failure == (
        f"the governing text (en) does not hash to event 1's governing_sha256 {v2.sha256}"
    )
    assert "<strong>does NOT match</strong> the governing digest" in render(bundle)


def test_an_acceptance_in_the_governing_language_says_so(v2: PolicyVersion) -> None:
    document = render(make_bundle(v2))
    assert "Accepted in English (en), the governing language" in document
    assert "The governing text, in" not in document


def test_template_syntax_in_a_message_or_a_staff_name_is_shown_literally(v2: PolicyVersion) -> None:
    """The page is a Jinja2 template: a value that looks like template code stays text."""
    code = "{{ 7 * 7 }} {% for x in range(3) %}loop{% endfor %} {# hidden #}"
    bundle = make_bundle(v2, message=code, agent_name=code, threat=code)
    document = render(bundle)
    assert "{{ 7 * 7 }}" in document and "looploop" not in document
    assert divs(row_of(section_of(document, 3), 2), "said") == [code]
    assert html.escape(code) in section_of(document, 5)  # the agent's name
    assert divs(section_of(document, 4), "quote") == [code]
