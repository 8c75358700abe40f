"""Checking a generated answer against the sentences it cites, before anyone sees it.

A small model paraphrasing a Danish article into English drops specifics, swaps numbers
and adds causes of its own. Each check below catches one of those; an answer that fails
any of them is not shown (the extractive answer is, and the JSON says so):

- citations: it cites [n], and only sentences it was given (an answer citing nothing gets the
  [n] of the sentence it shares most words with);
- an answer: it says something the question didn't ("Tropperne sendte tropper" is no answer);
- language: it is written in the question's language;
- numbers: every number in it occurs in the cited sentences (1000 = 1.000 = 1,000 = "tusind");
- names: every name in it is in the cited sentences — spelt the same or transliterated
  (Zelenskyj/Zelensky), or the same place, language, day or month in the other language
  (Tyskland/Germany, from the Unicode CLDR and ISO 3166 name lists, not a table of ours).
  e5-small word vectors can't do this: they score one man's name as close to another's;
- a name: a question asking for one gets one of the sentences' names, from a sentence that also
  holds the question's own names (not Kazakhstan's president for "Who is the president of Russia?");
- not known: when a sentence says the article doesn't know what is asked, the answer says so too;
- the right sentence: in the article's own language, an answer cites the sentence that holds every
  word of the question when there is one;
- additions: no clause of it rests on words the cited sentences don't support
  ("the government fell due to internal issues", when the article says: because of the unrest);
  across languages the generator judges its own answer (`ClaimJudge`), see `_check_additions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from bot.answering.marks import CITATION_MARK, cited
from bot.answering.matching import answer_type, asks_for_name, says_not, says_unknown, term_match
from bot.answering.thresholds import THRESHOLDS
from bot.lang import Term, content_terms, detect_language, numbers_in, passage_terms, word_language_confidence
from bot.names import names_all, same_name
from bot.texts import LANGUAGE_NAMES
from bot.types import Citation, Lang

CLAUSE_BREAK = re.compile(
    r"[;:,.!?]|\b(?:because|due to|since|as a result|after|while|but|and|fordi|på grund af|efter|mens|men|og)\b",
    re.IGNORECASE,
)
MIN_WORDS_FOR_LANGUAGE = 4


@dataclass(frozen=True)
class Verdict:
    """Whether a generated answer may be shown, and if not, every reason why."""

    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def cited_numbers(text: str, given: int) -> tuple[list[int], list[int]]:
    """The [n] the answer cites, split into those among the `given` sentences and those not."""
    numbers = cited(text)
    valid = sorted({n for n in numbers if 1 <= n <= given})
    invalid = sorted({n for n in numbers if not 1 <= n <= given})
    return valid, invalid


class AnswerVerifier:
    """Runs the checks that need no model; cheap (word lists and string comparisons)."""

    def verify(self, answer: str, question: str, language: Lang, citations: list[Citation]) -> Verdict:
        problems: list[str] = []
        valid, invalid = cited_numbers(answer, len(citations))
        if invalid:
            problems.append(f"cites sentences it was not given: {invalid}")
        if not valid:
            problems.append("cites none of the sentences")
        # Small models often cite [1] for a fact of [2]; every given sentence is shown as a source,
        # so claims are checked against all of them.
        evidence = " ".join(c.quote for c in citations)
        prose = CITATION_MARK.sub(" ", answer)
        terms = content_terms(prose, language)

        question_terms = content_terms(question, language)
        if not terms:
            problems.append("says nothing but citations")
        elif all(any(term_match(t, q) for q in question_terms) for t in terms):
            problems.append("only repeats the question")
        same_language = detect_language(evidence, default="da") == language
        problems += self._check_language(prose, language, terms) or (
            [] if same_language else self._check_copied(prose, language, evidence)
        )
        problems += self._check_numbers(prose, language, evidence, question, citations)
        problems += self._check_names(terms, evidence, question, citations)
        problems += self._check_unknown(prose, question, citations)
        problems += self._check_name_given(prose, question, question_terms, citations)
        if same_language:  # across languages word forms don't meet; there the generator judges (ClaimJudge)
            problems += self._check_additions(prose, language, evidence, question)
            problems += self._check_focus(question_terms, language, citations, valid)
        return Verdict(problems)

    @staticmethod
    def add_missing_citation(answer: str, language: Lang, citations: list[Citation]) -> str:
        """An answer that cites nothing gets [n] of the sentence sharing the most of its words."""
        if cited_numbers(answer, len(citations))[0] or CITATION_MARK.search(answer):
            return answer
        terms = content_terms(answer, language)

        def shared(citation: Citation) -> int:
            words = passage_terms(citation.quote)
            return sum(any(t.stem == w.stem or same_name(t.lower, w.lower) for w in words) for t in terms)

        best = max(citations, key=shared, default=None)
        if best is None or not shared(best):
            return answer
        body = answer.rstrip()
        end = body[-1] if body and body[-1] in ".!?" else ""
        return f"{body[: len(body) - len(end)]} [{best.n}]{end}"

    @staticmethod
    def _check_language(prose: str, language: Lang, terms: list[Term]) -> list[str]:
        names = {t.surface for t in terms if t.is_name}
        words = [w for w in re.findall(r"[^\W\d_]+", prose) if w not in names]
        if len(words) < MIN_WORDS_FOR_LANGUAGE:
            return []
        detected = detect_language(" ".join(words), default=language)
        called = LANGUAGE_NAMES["en"]
        return [] if detected == language else [f"is written in {called[detected]}, not {called[language]}"]

    @staticmethod
    def _check_copied(prose: str, language: Lang, evidence: str) -> list[str]:
        """Quotes in the other language copied into the answer ("Russiske faldskærmssoldater [1]"
        for "What kind of soldiers …?") are too short for the language check: two words in a row
        from the sentences, one of them not a name, are a copy, not a translation; so is one word
        of theirs that is no name and that lingua takes for their language ("… more than 1000
        personer"), unlike a word both languages write alike ("administrative")."""
        source = " ".join(w.lower() for w in re.findall(r"[^\W\d_]+", evidence))
        words = re.findall(r"[^\W\d_]+", prose)
        instead = f"instead of writing {LANGUAGE_NAMES['en'][language]}"
        for first, second in pairwise(words):
            if f" {first.lower()} {second.lower()} " in f" {source} " and not (
                first[0].isupper() and second[0].isupper()
            ):
                return [f"copies the sentences' words ({first} {second}) {instead}"]
        quoted = {t.lower: t.is_name for t in passage_terms(evidence)}
        other: Lang = "da" if language == "en" else "en"
        for word in words:
            lower = word.lower()
            if (
                quoted.get(lower) is False
                and len(lower) >= 4
                and word_language_confidence(lower, other) >= THRESHOLDS.copied_word_confidence
            ):
                return [f"copies the sentences' word {word} {instead}"]
        return []

    @staticmethod
    def _check_numbers(
        prose: str, language: Lang, evidence: str, question: str, citations: list[Citation]
    ) -> list[str]:
        # The question's numbers are no support: "How many of the 40 sick are children?" is not answered by "40 children".
        allowed = numbers_in(evidence) | {n for c in citations for n in numbers_in(c.date)}
        unsupported = sorted(numbers_in(prose, language) - allowed)
        return [f"states numbers the sentences don't: {', '.join(unsupported)}"] if unsupported else []

    @staticmethod
    def _check_names(terms: list[Term], evidence: str, question: str, citations: list[Citation]) -> list[str]:
        # The question's names are no support: an answer about a party the quotes never mention invents it.
        known = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", evidence) + [c.source for c in citations]
        known_parts = {part for word in known for part in [word, *word.split("-")]}
        unknown = [
            t.surface
            for t in terms
            if t.is_name and not any(same_name(part, k) for part in t.surface.split("-") for k in known_parts)
        ]
        return [f"names what the sentences don't: {', '.join(unknown)}"] if unknown else []

    @staticmethod
    def _check_name_given(
        prose: str, question: str, question_terms: list[Term], citations: list[Citation]
    ) -> list[str]:
        """A question asking for a name ("Who is the police spokesperson?") is answered with one of
        the names the sentences give, not with "an individual for politics" (names the question
        already has don't count)."""
        if not asks_for_name(question):
            return []
        asked = [t.lower for t in question_terms]
        names = {
            t.surface
            for c in citations
            for t in passage_terms(c.quote)
            if t.is_name and not any(same_name(t.lower, a) for a in asked)
        }
        if not names:
            return []
        words = [w.lower() for w in re.findall(r"[^\W\d_]+", prose)]
        given = {n for n in names if any(same_name(w, n.lower()) for w in words)}
        if not given:
            return [
                f"gives none of the names in the sentences ({', '.join(sorted(names))}), though the question asks for one"
            ]
        return AnswerVerifier._check_name_belongs(given, question_terms, citations)

    @staticmethod
    def _check_name_belongs(given: set[str], question_terms: list[Term], citations: list[Citation]) -> list[str]:
        """The name answers the question only if a quote naming it also holds the question's own
        names: "Who is the president of France?" is not answered by the name in a quote about
        another country's president, though another quote mentions France."""
        asked = [t for t in question_terms if t.is_name]
        if not asked:
            return []
        for citation in citations:
            words = [t.lower for t in passage_terms(citation.quote)]
            if any(same_name(n.lower(), w) for n in given for w in words) and names_all(
                [a.lower for a in asked], words
            ):
                return []
        return [
            f"gives {', '.join(sorted(given))} from sentences that don't mention {', '.join(a.surface for a in asked)}"
        ]

    @staticmethod
    def _check_unknown(prose: str, question: str, citations: list[Citation]) -> list[str]:
        """When the best-matching sentence says the article doesn't know what is asked ("Det fremgår
        ikke, hvor mange styrker …"), the answer must pass that on, not answer as if it knew. (Only
        the best one: a lower one may be about something else — other soldiers, other numbers.)"""
        if citations and says_unknown(answer_type(question), citations[0].quote) and not says_not(prose):
            return [f"does not say what [{citations[0].n}] says: that this is not known"]
        return []

    @staticmethod
    def _check_focus(
        question_terms: list[Term], language: Lang, citations: list[Citation], cited: list[int]
    ) -> list[str]:
        """Same language: when one sentence holds every word of the question and the cited ones
        don't, the answer comes from the wrong sentence ("Hvad er troppernes opgaver?" answered
        from "Tropperne er en del af pagten" next to "Troppernes primære opgaver er …")."""
        words = [t for t in question_terms if not t.is_number]
        if len(words) < 2 or not cited:
            return []

        def covered(citation: Citation) -> set[str]:
            quote_terms = content_terms(citation.quote, language)
            return {t.lower for t in words if any(term_match(t, q) for q in quote_terms)}

        cover = {c.n: covered(c) for c in citations}
        best = max(citations, key=lambda c: len(cover[c.n]))
        from_cited = set().union(*(cover[n] for n in cited if n in cover))
        if len(cover[best.n]) == len(words) and len(from_cited) < len(words):
            return [f"does not answer from [{best.n}], the sentence about {', '.join(t.surface for t in words)}"]
        return []

    @staticmethod
    def _check_additions(prose: str, language: Lang, evidence: str, question: str) -> list[str]:
        """Same language: a clause whose content words are mostly absent from the sentences (by stem,
        spelling or compound) adds a claim of its own. Across languages word forms don't meet, and
        e5-small's word vectors can't tell a translation from a neighbour ('internal'–'urolighederne'
        0.865 > 'unrest'–'urolighederne' 0.847), so there the generator's own yes/no check decides
        (`ClaimJudge`, run by `Answerer.refine`)."""
        support = content_terms(evidence, language)  # the question's words are what is asked, not what the quotes say
        unsupported: list[str] = []
        for clause in CLAUSE_BREAK.split(prose):
            terms = [t for t in content_terms(clause, language) if not t.is_number and not t.is_name]
            weak = [t.surface for t in terms if not any(term_match(t, s) for s in support)]
            if len(weak) >= 2 and len(weak) * 2 >= len(terms):
                unsupported.append(" ".join(weak))
        return [f"adds what the sentences don't say: {'; '.join(unsupported)}"] if unsupported else []
