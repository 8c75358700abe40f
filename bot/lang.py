"""Language work that LangChain doesn't do: detecting Danish or English, and cutting
questions and sentences into comparable terms (Danish stemming, stopwords, numbers)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from lingua import Language, LanguageDetectorBuilder

from bot.data import load_json, load_words
from bot.types import Lang

_LINGUA: dict[Language, Lang] = {Language.DANISH: "da", Language.ENGLISH: "en"}
# Languages a question may come in that the bot doesn't answer in. Norwegian and Swedish are left
# out on purpose: short Danish is easily taken for them, and their readers read Danish answers.
_OTHER_LANGUAGES = (
    Language.GERMAN,
    Language.DUTCH,
    Language.FRENCH,
    Language.SPANISH,
    Language.ITALIAN,
    Language.PORTUGUESE,
    Language.POLISH,
    Language.FINNISH,
    Language.RUSSIAN,
    Language.UKRAINIAN,
    Language.TURKISH,
    Language.ARABIC,
    Language.CHINESE,
    Language.JAPANESE,
)
# Detection reads at most this much: enough for any question, and a huge message costs no more.
DETECTION_CHARS = 1000
FOREIGN_CONFIDENCE = 0.7  # lingua's confidence, among all the languages above, to call a question foreign
FOREIGN_MIN_LETTERS = 12  # shorter texts ("Kiev?", "Berlin 2022") don't show their language
_DANISH_LETTERS = re.compile(r"[æøåÆØÅ]")
WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:[-'][^\W\d_]+)*")


@lru_cache(maxsize=1)
def _detector():
    return LanguageDetectorBuilder.from_languages(*_LINGUA).build()


@lru_cache(maxsize=1)
def _wide_detector():
    return LanguageDetectorBuilder.from_languages(*_LINGUA, *_OTHER_LANGUAGES).build()


# English stopwords that are Danish nouns and adjectives ("Hvilken by …?" asks for a city).
_DANISH_WORDS = frozenset({"by", "is", "sort", "type", "let", "most"})


def stopwords(lang: Lang) -> frozenset[str]:
    return load_words(f"stopwords_{lang}")


@lru_cache(maxsize=2)
def _stemmer(lang: Lang):
    return snowballstemmer.stemmer("danish" if lang == "da" else "english")


def word_language_confidence(word: str, language: Lang) -> float:
    """How surely lingua takes one word for `language` rather than the other ("personer": Danish
    0.89; "administrative", written alike in both: 0.34)."""
    wanted = next(lingua for lingua, code in _LINGUA.items() if code == language)
    return _detector().compute_language_confidence(word, wanted)


def detect_language(text: str, default: Lang = "en") -> Lang:
    """Danish or English. Short questions are common, so æ/ø/å and stopwords back up lingua."""
    text = text[:DETECTION_CHARS]
    written = WORD.findall(text)
    words = [w.lower() for w in written]
    if not words:
        return default
    # æ, ø and å mark Danish in the question's own words, not in the names it mentions ("Østervang").
    if any(_DANISH_LETTERS.search(w) for n, w in enumerate(written) if n == 0 or not w[0].isupper()):
        return "da"
    da_hits = sum(w in stopwords("da") and w not in stopwords("en") for w in words)
    en_hits = sum(w in stopwords("en") and w not in stopwords("da") for w in words)
    language = _detector().detect_language_of(text)
    if language is None:
        return "da" if da_hits > en_hits else default
    detected: Lang = _LINGUA[language]
    if detected == "en" and da_hits > en_hits + 1:
        return "da"
    if detected == "da" and en_hits > da_hits + 1:
        return "en"
    return detected


def foreign_language(text: str) -> str | None:
    """The ISO 639-1 code of the language a question is clearly written in when that is neither
    Danish nor English ("de" for "Wie viele Menschen sind gestorben?"), else None."""
    text = text[:DETECTION_CHARS]
    if _DANISH_LETTERS.search(text):
        return None
    # Names say little about the language asked in ("How old is Jan van Dijk?").
    words = [w for n, w in enumerate(WORD.findall(text)) if n == 0 or not w[0].isupper()]
    latin = any("a" <= c <= "z" for w in words for c in w.lower())
    if latin and sum(len(w) for w in words) < FOREIGN_MIN_LETTERS:
        return None
    ranked = _wide_detector().compute_language_confidence_values(" ".join(words))
    if not ranked or ranked[0].language in _LINGUA or ranked[0].value < FOREIGN_CONFIDENCE:
        return None
    return ranked[0].language.iso_code_639_1.name.lower()


def article_language(text: str) -> str:
    """The ISO 639-1 code of an article's language: Danish or English as `detect_language` tells
    them apart, or another language a wire service carries ("de") when the text is clearly that."""
    return foreign_language(text) or detect_language(text, default="da")


def normalise_number(token: str) -> str:
    """1000, 1.000 and 1,000 are the same number."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", token):
        return re.sub(r"[.,]", "", token)
    return token.replace(",", ".")


@dataclass(frozen=True)
class Term:
    """A content word of a text: as written, lower-cased, and stemmed."""

    surface: str
    lower: str
    stem: str
    is_number: bool
    is_name: bool  # capitalised away from the start of a sentence
    offset: int = 0


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower-case without accents, for spelling comparisons across languages."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ø", "o").replace("æ", "ae")


def content_terms(text: str, lang: Lang) -> list[Term]:
    """The words that carry meaning: no stopwords of either language, numbers normalised."""
    terms: list[Term] = []
    stop = stopwords(lang) | (stopwords("en") - _DANISH_WORDS if lang == "da" else frozenset())
    seen: set[str] = set()
    for match in WORD.finditer(text):
        word = match.group(0)
        lower = word.lower()
        is_number = word[0].isdigit()
        if not is_number and (lower in stop or len(lower) < 2):
            continue
        key = normalise_number(lower) if is_number else lower
        if key in seen:
            continue
        seen.add(key)
        before = text[: match.start()].rstrip()
        sentence_start = not before or before[-1] in '.!?:-–—"«'
        is_name = not is_number and word[0].isupper() and not sentence_start
        stem = key if is_number else _stemmer(lang).stemWord(lower)
        terms.append(Term(word, key, stem, is_number, is_name, match.start()))
    return terms


@lru_cache(maxsize=256)
def passage_terms(text: str) -> tuple[Term, ...]:
    """An article's words in its own language: cutting a Danish passage as English too would keep
    Danish function words ("der", "har") as content, and "forlader" would seem to hold "der"."""
    return tuple(content_terms(text, detect_language(text, default="da")))


# "dozens", "hundreds", "thousands" in either language: an answer's "hundreds" needs one in the sentences.
QUANTITY_PREFIXES = (
    ("dozen", 12),
    ("dusin", 12),
    ("hundred", 100),
    ("thousand", 1000),
    ("tusind", 1000),
    ("million", 10**6),
)


def _number_words() -> dict[str, dict[str, str]]:
    return load_json("number_words")


def numbers_in(text: str, language: Lang | None = None) -> set[str]:
    """The numbers a text states, as digits; number words count for `language` (both when None)."""
    found = {normalise_number(n) for n in re.findall(r"\d+(?:[.,]\d+)*", text)}
    words = _number_words()
    for word in re.findall(r"[^\W\d_]+", text.lower()):
        for lang in (language,) if language else ("da", "en"):
            if word in words[lang]:
                found.add(words[lang][word])
        found.update(f"~{size}" for prefix, size in QUANTITY_PREFIXES if word.startswith(prefix))
    return found
