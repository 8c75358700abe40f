"""Names across spellings and languages: what countries, languages, days and months are called
in English and in Danish, and whether two spellings name the same person or place.

Two parts of the answering need this. The verifier must know that Zelenskyj and Zelensky are one
man and Tyskland and Germany one country (e5-small word vectors can't tell a country from its
neighbour). And the generator, translating a Danish quote, needs to be told: a small model writes
a neighbouring country for a Danish country name, and "Hundreders" for "dusinvis".
The names come from the Unicode CLDR (Babel) and ISO 3166 (pycountry), not a table of ours;
only the few Danish and English words for rough quantities are listed in bot/data.
"""

from __future__ import annotations

import difflib
import gettext
import re
from functools import lru_cache

from bot.data import load_json
from bot.lang import fold
from bot.types import Lang

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_KINDS = ("iso", "lang", "day", "month")  # when a word names several things, the first kind wins
SPELLING_VARIANT = 0.85  # a spelling variant of a country's name, not a neighbour's (-ien/-ien names score 0.75)
NAME_SIMILARITY = 0.72  # transliterated likeness that counts as the same person or place (Zelenskyj/Zelensky)


@lru_cache(maxsize=1)
def _names() -> dict[str, dict[Lang, set[str]]]:
    """Key ("iso:BY", "day:3", …) → its names per language, as written."""
    import pycountry

    names: dict[str, dict[Lang, set[str]]] = {}

    def add(key: str, language: Lang, *values: str | None) -> None:
        names.setdefault(key, {"en": set(), "da": set()})[language].update(v for v in values if v)

    danish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["da"], fallback=True)
    for country in pycountry.countries:
        english = [getattr(country, attr, None) for attr in ("name", "common_name", "official_name")]
        add(f"iso:{country.alpha_2}", "en", *english)
        add(f"iso:{country.alpha_2}", "da", *(danish.gettext(name) for name in english if name))
    for language in ("en", "da"):
        for key, name in _cldr(language).items():
            add(key, language, name)
    return names


@lru_cache(maxsize=2)
def _cldr(language: Lang) -> dict[str, str]:
    """Key → CLDR's name in `language` for territories, languages, weekdays and months."""
    from babel import Locale

    locale = Locale(language)
    return {
        **{f"iso:{code}": name for code, name in locale.territories.items()},
        **{f"lang:{code}": name for code, name in locale.languages.items()},
        **{f"day:{number}": name for number, name in locale.days["format"]["wide"].items()},
        **{f"month:{number}": name for number, name in locale.months["format"]["wide"].items()},
    }


@lru_cache(maxsize=1)
def name_groups() -> dict[str, frozenset[str]]:
    """Folded name → the keys of what it names, in either language."""
    groups: dict[str, set[str]] = {}
    for key, by_language in _names().items():
        for values in by_language.values():
            for value in values:
                groups.setdefault(fold(value), set()).add(key)
    return {name: frozenset(keys) for name, keys in groups.items()}


@lru_cache(maxsize=1)
def _preferred() -> dict[str, dict[Lang, str]]:
    """Key → the one name to use per language: CLDR's (short, current), else ISO's shortest."""
    chosen: dict[str, dict[Lang, str]] = {}
    for language in ("en", "da"):
        cldr = _cldr(language)
        for key, by_language in _names().items():
            name = cldr.get(key) or min(by_language[language] or by_language["en"], key=len, default=None)
            if name:
                chosen.setdefault(key, {})[language] = name[0].upper() + name[1:] if language == "en" else name
    return chosen


def _quantity_words() -> dict[str, dict[str, str]]:
    return load_json("quantity_words")


@lru_cache(maxsize=1)
def _by_initial() -> dict[str, list[str]]:
    """Folded names by their first two letters, for spelling variants (Tjetjenien/Tjetjenija)."""
    index: dict[str, list[str]] = {}
    for name in name_groups():
        index.setdefault(name[:2], []).append(name)
    return index


def _key_of(word: str) -> str | None:
    """What a word names: as written, without a genitive s (Tysklands), or — for a
    capitalised word — spelt a little differently (Tjetjenija → Tjetjenien)."""
    groups = name_groups()
    forms = [fold(word), fold(word.removesuffix("s"))]
    if word[0].isupper() and len(word) >= 6:
        forms += difflib.get_close_matches(forms[0], _by_initial().get(forms[0][:2], []), n=1, cutoff=SPELLING_VARIANT)
    for form in forms:
        if form in groups:
            return min(groups[form], key=lambda k: _KINDS.index(k.split(":")[0]))
    return None


def glossary(text: str, target: Lang) -> list[tuple[str, str]]:
    """(word in `text`, what it is called in `target`) for the names and rough quantities in `text`
    that `target` writes differently; for a model translating the text."""
    pairs: dict[str, str] = {}
    quantities = {
        word: translation
        for pair, words in _quantity_words().items()
        if pair.endswith(f">{target}")
        for word, translation in words.items()
    }
    for match in _WORD.finditer(text):
        word = match.group(0)
        if word.lower() in quantities:
            pairs.setdefault(word.lower(), quantities[word.lower()])
            continue
        key = _key_of(word)
        if key is None or (key.startswith(("iso", "lang")) and not word[0].isupper()):
            continue  # a lower-case word that spells a country is not one ("to", "by")
        already = {fold(name) for name in _names()[key][target]}
        name = _preferred().get(key, {}).get(target)
        if name and not {fold(word), fold(word.removesuffix("s"))} & already:
            pairs.setdefault(word, name)
    return list(pairs.items())


def _transliterated(word: str) -> str:
    """Spelling without the letters Danish and English write differently (Usbekistan/Uzbekistan)."""
    text = fold(word)
    for a, b in (("ks", "x"), ("sj", "j"), ("z", "s"), ("y", "j"), ("c", "k"), ("ph", "f"), ("w", "v"), ("aa", "a")):
        text = text.replace(a, b)
    return text


@lru_cache(maxsize=1 << 16)  # the ranker's features compare each name with every word of the candidates
def same_name(a: str, b: str) -> bool:
    """Whether two spellings name the same thing (in either language)."""
    fa, fb = fold(a), fold(b)
    if fa == fb or _transliterated(a) == _transliterated(b):
        return True
    if min(len(fa), len(fb)) >= 4:
        matcher = difflib.SequenceMatcher(None, _transliterated(a), _transliterated(b))
        # the quick upper bounds first: most pairs fail them, and ratio() costs ten times as much
        if (
            matcher.real_quick_ratio() >= NAME_SIMILARITY
            and matcher.quick_ratio() >= NAME_SIMILARITY
            and matcher.ratio() >= NAME_SIMILARITY
        ):
            return True
    groups = name_groups()
    return bool(groups.get(fa, frozenset()) & groups.get(fb, frozenset()))


def names_all(names: list[str], words: list[str]) -> bool:
    """Whether every one of `names` is among `words`, in any spelling or language ("Germany" in a
    sentence saying "Tyskland")."""
    return all(any(same_name(name, word) for word in words) for name in names)
