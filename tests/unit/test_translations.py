"""The portal's catalogs: every message translated, placeholders kept, and the compiled .mo the
app reads made from the .po as it stands (`make messages` writes both)."""

from __future__ import annotations

import io
import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hotspot.web.portal_text import MESSAGES, TRANSLATIONS, strings
from tests.support.paths import ROOT

LANGUAGES = sorted(path.name for path in TRANSLATIONS.iterdir() if path.is_dir())
PLACEHOLDER = re.compile(r"\{\w+\}")


def catalog(lang: str) -> Catalog:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def test_swahili_is_there() -> None:
    assert LANGUAGES == ["sw"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_is_the_po_as_it_stands(lang: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalog(lang))
    committed = (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.getvalue() == committed, "run `make messages`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_left_over(lang: str) -> None:
    translated = {m.id: m.string for m in catalog(lang) if m.id}
    assert set(translated) == set(MESSAGES.values()), "run `make messages`"
    assert [message for message, text in translated.items() if not text] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_translation_keeps_the_placeholders_the_page_fills_in(lang: str) -> None:
    for message in catalog(lang):
        if message.id:
            assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(
                PLACEHOLDER.findall(str(message.id))
            ), message.id


def test_the_pages_read_each_language_from_its_catalog() -> None:
    assert strings("sw")["retry"] == "Jaribu tena"
    assert strings("en")["retry"] == "Try again"
    assert strings("fr") == strings("en")  # no catalog: English


def test_the_catalogs_ship_with_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"web/translations/*/LC_MESSAGES/*"' in pyproject
