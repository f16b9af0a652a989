"""The languages of the pages: which one a request gets, and the words of the interface.

A page is in Dutch, English, German or French. `?lang=` wins (it is what the language
switcher sets, and a link can carry it); otherwise the browser's Accept-Language; otherwise
Dutch, the first of the fallback order nl, en, de, fr that labels follow too (labels.py).
The interface's own words are in messages.yaml, one entry per key with all four languages.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LANGUAGES = ("nl", "en", "de", "fr")
NAMES = {"nl": "Nederlands", "en": "English", "de": "Deutsch", "fr": "Français"}
MESSAGES = Path(__file__).parent / "messages.yaml"


@dataclass(frozen=True)
class Language:
    code: str
    explicit: bool  # chosen with ?lang= (links then carry it on)


def negotiate(param: str | None, accept_language: str | None) -> Language:
    if param and param.strip().lower() in LANGUAGES:
        return Language(param.strip().lower(), True)
    for code in _preferences(accept_language):
        if code in LANGUAGES:
            return Language(code, False)
    return Language(LANGUAGES[0], False)


def _preferences(header: str | None) -> list[str]:
    """Primary language subtags of an Accept-Language header, best first (q=0 dropped)."""
    ranked = []
    for position, part in enumerate((header or "")[:1024].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary and primary != "*" and q > 0:
            ranked.append((-q, position, primary))
    return [code for _, _, code in sorted(ranked)]


@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, str]]:
    table = yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))
    for key, entry in table.items():
        missing = [lang for lang in LANGUAGES if lang not in (entry or {})]
        if missing:
            raise ValueError(f"{MESSAGES}: message {key!r} has no {', '.join(missing)}")
    return table


def translate(key: str, lang: str, **values) -> str:
    """The interface text `key` in `lang`; `{name}` placeholders are filled from `values`."""
    entry = messages().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def format_date(value: str, lang: str) -> str:
    """An xsd:date, xsd:gYearMonth or xsd:gYear value as people write it in `lang`.

    Only as precise as the value: "1958" stays a year, "1958-02" a month.
    """
    parts = value.split("-")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:3]) or len(parts[0]) != 4:
        return value
    months = translate("months", lang).split()
    month = int(parts[1])
    if not 1 <= month <= 12:
        return value
    if len(parts) == 2:
        return f"{months[month - 1]} {parts[0]}"
    day = int(parts[2][:2])
    if lang == "de":
        return f"{day}. {months[month - 1]} {parts[0]}"
    if lang == "fr" and day == 1:
        return f"1er {months[month - 1]} {parts[0]}"
    return f"{day} {months[month - 1]} {parts[0]}"
