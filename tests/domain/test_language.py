"""Choosing a language: BCP 47 lookup and Accept-Language."""

from __future__ import annotations

import pytest

from parley.domain import language

AVAILABLE = ("en", "de", "fr", "pt-BR")


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        (["de-DE"], "de"),
        (["DE-at"], "de"),
        (["fr-CA", "de"], "fr"),
        (["es", "fr"], "fr"),
        (["pt"], "pt-BR"),
        (["pt-PT"], "pt-BR"),
        (["zh-Hant-TW"], None),
        ([None, "", "not a tag", "en-GB"], "en"),
        ([], None),
    ],
)
def test_lookup_tries_each_preference_then_its_language(
    wanted: list[str | None], found: str | None
) -> None:
    assert language.best(AVAILABLE, wanted) == found


def test_lookup_keeps_the_available_spelling() -> None:
    assert language.best(["pt-BR"], ["PT-br"]) == "pt-BR"


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", ["de-DE", "de", "en"]),
        ("en;q=0.2, fr", ["fr", "en"]),
        ("fr;q=0.5, de;q=0.5", ["fr", "de"]),
        ("*, es;q=0.1", ["es"]),
        ("ar;q=0, he", ["he"]),
        ("de;q=abc, <script>, fr;q=2, it", ["it"]),
        ("", []),
        (None, []),
    ],
)
def test_accept_language_orders_by_weight_and_drops_what_is_not_a_tag(
    header: str | None, tags: list[str]
) -> None:
    assert language.accept_language(header) == tags


def test_accept_language_reads_a_bounded_number_of_preferences() -> None:
    header = ",".join(["xx"] * 1000 + ["de"])
    assert language.accept_language(header) == ["xx"] * language.MAX_PREFERENCES


@pytest.mark.parametrize(
    ("tag", "way"), [("ar", "rtl"), ("he-IL", "rtl"), ("de", "ltr"), ("en", "ltr")]
)
def test_direction_by_language(tag: str, way: str) -> None:
    assert language.direction(tag) == way
