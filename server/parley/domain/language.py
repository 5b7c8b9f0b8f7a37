"""Choosing a language: BCP 47 tags (RFC 5646), lookup (RFC 4647) and ``Accept-Language``.

Pure functions over tag strings. Tags compare case-insensitively, as RFC 5646 says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

#: The tags Parley accepts in policy files and frames: a language and optional subtags.
TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
#: Most preferences of one ``Accept-Language`` header that are looked at.
MAX_PREFERENCES = 20
#: Languages written right to left, by primary subtag (RFC 5646 language subtags).
RIGHT_TO_LEFT = frozenset({"ar", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"})


#: Each language's own name for itself (its autonym), by primary subtag, for people to read
#: beside the tag; a language not listed is shown by its tag alone.
NAMES = {
    "ar": "العربية", "bg": "Български", "cs": "Čeština", "da": "Dansk", "de": "Deutsch",
    "el": "Ελληνικά", "en": "English", "es": "Español", "et": "Eesti", "fa": "فارسی",
    "fi": "Suomi", "fr": "Français", "ga": "Gaeilge", "he": "עברית", "hr": "Hrvatski",
    "hu": "Magyar", "it": "Italiano", "ja": "日本語", "ko": "한국어", "lt": "Lietuvių",
    "lv": "Latviešu", "mt": "Malti", "nl": "Nederlands", "no": "Norsk", "pl": "Polski",
    "pt": "Português", "ro": "Română", "ru": "Русский", "sk": "Slovenčina", "sl": "Slovenščina",
    "sv": "Svenska", "tr": "Türkçe", "uk": "Українська", "zh": "中文",
}  # fmt: skip


def named(tag: str) -> str:
    """The language as people read it: ``"Deutsch (de)"``, or the tag alone if not in NAMES."""
    name = NAMES.get(primary(tag))
    return f"{name} ({tag})" if name else tag


def primary(tag: str) -> str:
    """The language subtag: ``"de"`` of ``"de-AT"``."""
    return tag.split("-", 1)[0].lower()


def direction(tag: str) -> str:
    """``"rtl"`` for a language written right to left, else ``"ltr"``."""
    return "rtl" if primary(tag) in RIGHT_TO_LEFT else "ltr"


def best(available: Sequence[str], wanted: Iterable[str | None]) -> str | None:
    """The first of ``available`` that one of ``wanted`` (in order of preference) asks for.

    Each wanted tag is tried by RFC 4647 lookup (``de-CH-1996``, then ``de-CH``, then
    ``de``), then against any available tag of the same language (``pt`` finds ``pt-BR``).
    Returns ``None`` when nothing matches; malformed tags are skipped.
    """
    by_lower = {tag.lower(): tag for tag in available}
    for tag in wanted:
        if not tag or not TAG.match(tag):
            continue
        parts = tag.lower().split("-")
        while parts:
            if found := by_lower.get("-".join(parts)):
                return found
            parts.pop()
        language = primary(tag)
        for candidate in available:
            if primary(candidate) == language:
                return candidate
    return None


def accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most preferred first (RFC 9110 §12.5.4).

    Wildcards, malformed entries and ``q=0`` are dropped; ties keep the header's order.
    """
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate((header or "").split(",")[:MAX_PREFERENCES]):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        tag = tag.strip()
        if TAG.match(tag) and 0 < weight <= 1:
            ranked.append((-weight, i, tag))
    return [tag for _, _, tag in sorted(ranked)]
