"""Policies in other languages than English, for tests of issue 16: built from the domain,
or as policy files."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from parley.domain.policy import PolicyVersion

GERMAN_NOTICE = (
    ("closure", 'Dieses Gespräch wurde nach Regel {clause_id}, „{clause_title}“, beendet:\n\n'
                "{clause_text}\n\n{examples}Referenz: {conversation_id}"),
    ("examples", "Zum Beispiel:"),
    ("warning", 'Bitte beachten Sie Regel {clause_id}, „{clause_title}“:\n\n{clause_text}\n\n'
                "{examples}"),
)  # fmt: skip


def in_german(v: PolicyVersion) -> PolicyVersion:
    """``v`` translated: every title and text in German, the same section and clause ids."""
    sections = tuple(
        replace(
            s,
            title=f"Abschnitt {s.id}",
            clauses=tuple(
                replace(c, title=f"Regel {c.id}", text=f"Der deutsche Wortlaut von {c.id}.")
                for c in s.clauses
            ),
        )
        for s in v.sections
    )
    return replace(
        v,
        language="de",
        title="Verhaltensrichtlinie",
        version_line="Richtlinie {policy_id}, Version {version}, gültig ab {effective}",
        preamble="Seien Sie freundlich.",
        sections=sections,
        notice=GERMAN_NOTICE,
    )


def with_german(v: PolicyVersion) -> PolicyVersion:
    """``v`` (governing) with its German translation attached."""
    return v.with_translations([in_german(v)])


def toml(doc: dict[str, Any]) -> str:
    """``doc`` as a policy file (a JSON string is a TOML basic string)."""

    def value(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    lines = [f"{k} = {value(v)}" for k, v in doc.items() if k not in ("notice", "sections")]
    lines += ["", "[notice]", *(f"{k} = {value(v)}" for k, v in doc.get("notice", {}).items())]
    for section in doc["sections"]:
        lines += ["", "[[sections]]", f"id = {value(section['id'])}"]
        lines += [f"title = {value(section['title'])}"]
        for clause in section["clauses"]:
            lines += ["", "[[sections.clauses]]"]
            lines += [f"{k} = {value(clause[k])}" for k in ("id", "title", "text")]
    return "\n".join(lines) + "\n"


def add_german(folder: Path, version: PolicyVersion) -> Path:
    """Write :func:`in_german` of ``version`` as ``conduct-v<N>.de.toml`` in ``folder``."""
    path = folder / f"{version.policy_id}-v{version.version}.de.toml"
    path.write_text(toml(in_german(version).to_document()), encoding="utf-8")
    return path


POLICIES = Path(__file__).resolve().parents[1] / "policies"
#: A policy published only in German, which governs: it works without translations.
GERMAN = '''policy_id = "conduct"
version = 1
language = "de"
governing_language = "de"
version_line = "Richtlinie {policy_id}, Version {version}, gültig ab {effective}"
title = "Verhaltensrichtlinie für den Chat"
effective = "2026-01-01T00:00:00Z"
preamble = """
Unsere Mitarbeitenden sind Menschen. Bitte bleiben Sie respektvoll.
"""

[[sections]]
id = "1"
title = "Respekt"

[[sections.clauses]]
id = "1.1"
title = "Beleidigungen"
text = """
Beleidigen Sie niemanden.
"""

[[sections.clauses]]
id = "1.2"
title = "Drohungen"
text = """
Drohen Sie niemandem mit Gewalt oder anderen Nachteilen.
"""

[notice]
examples = "Zum Beispiel:"
warning = """
Bitte beachten Sie Regel {clause_id}, „{clause_title}“:

{clause_text}

{examples}
"""
closure = """
Wir haben dieses Gespräch nach Regel {clause_id}, „{clause_title}“, beendet:

{clause_text}

{examples}Referenz: {conversation_id}
"""
'''
THREATS = {"id": "1.2", "title": "Drohungen",
           "text": "Drohen Sie niemandem mit Gewalt oder anderen Nachteilen."}  # fmt: skip


def policies_with(folder: Path, *files: tuple[str, str]) -> Path:
    folder.mkdir()
    shutil.copy(POLICIES / "policy.schema.json", folder)
    for name, text in files:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def german_translation_of_v2() -> str:
    """conduct-v2.toml as a German translation: its own version line, clause 1.2 and notice."""
    text = (POLICIES / "conduct-v2.toml").read_text(encoding="utf-8")
    text = text.replace(
        "version = 2\n",
        'version = 2\nlanguage = "de"\n'
        'version_line = "Richtlinie {policy_id}, Version {version}, gültig ab {effective}"\n',
        1,
    )
    start = text.index('id = "1.2"')
    end = text.index("[[sections.clauses]]", start)
    clause = f'id = "1.2"\ntitle = "{THREATS["title"]}"\ntext = """\n{THREATS["text"]}\n"""\n\n'
    text = text[:start] + clause + text[end:]
    return text.replace("[notice]\n", '[notice]\nexamples = "Zum Beispiel:"\n', 1)


#: A small English policy, and its Arabic translation (same ids): the repository has no Arabic.
ENGLISH = '''policy_id = "conduct"
version = 1
title = "Chat conduct policy"
effective = "2026-01-01T00:00:00Z"
preamble = """
Our support staff are people. Please keep the conversation respectful, safe and on topic.
"""

[[sections]]
id = "1"
title = "Respect"

[[sections.clauses]]
id = "1.1"
title = "Insults"
text = """
Do not insult, demean or harass our staff or anyone else.
"""

[[sections.clauses]]
id = "1.2"
title = "Threats"
text = """
Do not threaten anyone with violence or any other harm.
"""

[[sections]]
id = "2"
title = "Privacy"

[[sections.clauses]]
id = "2.1"
title = "Other people's data"
text = """
Do not share other people's personal data without their consent.
"""
'''
ARABIC = '''policy_id = "conduct"
version = 1
language = "ar"
version_line = "السياسة {policy_id}، الإصدار {version}، سارية من {effective}"
title = "سياسة السلوك في الدردشة"
effective = "2026-01-01T00:00:00Z"
preamble = """
موظفو الدعم لدينا بشر. يرجى الحفاظ على محادثة محترمة وآمنة وضمن الموضوع.
"""

[[sections]]
id = "1"
title = "الاحترام"

[[sections.clauses]]
id = "1.1"
title = "الإهانات"
text = """
لا تُهِن موظفينا أو أي شخص آخر، ولا تحقّره ولا تتحرش به.
"""

[[sections.clauses]]
id = "1.2"
title = "التهديدات"
text = """
لا تهدد أحدًا بالعنف أو بأي ضرر آخر.
"""

[[sections]]
id = "2"
title = "الخصوصية"

[[sections.clauses]]
id = "2.1"
title = "بيانات الآخرين"
text = """
لا تشارك البيانات الشخصية لأشخاص آخرين دون موافقتهم.
"""

[notice]
examples = "على سبيل المثال:"
warning = """
يرجى الالتزام بالقاعدة {clause_id}، «{clause_title}»:

{clause_text}

{examples}
"""
closure = """
أنهينا هذه المحادثة لأنها خالفت القاعدة {clause_id}، «{clause_title}»:

{clause_text}

{examples}إذا رأيت أن هذا القرار خاطئ، يمكنك الاعتراض عليه مع ذكر المرجع {conversation_id}.
"""
'''

#: The same policy published only in Arabic, which governs: a right-to-left text without
#: translations.
ARABIC_GOVERNS = ARABIC.replace(
    'language = "ar"\n', 'language = "ar"\ngoverning_language = "ar"\n', 1
)


def translated_policies(folder: Path) -> Path:
    """The repository's policies with a German translation of version 2 (the one in force)."""
    return policies_with(
        folder,
        *((p.name, p.read_text(encoding="utf-8")) for p in sorted(POLICIES.glob("*.toml"))),
        ("conduct-v2.de.toml", german_translation_of_v2()),
    )
