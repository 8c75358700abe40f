"""What the model is shown: the numbered quotes, the names glossed across languages, the prompt.

The answer, the reading check and the claim judge all show the model the same quotes in the same
way, so each builds its messages from here.
"""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

from bot.lang import detect_language
from bot.names import glossary
from bot.texts import prompt, prompt_in
from bot.types import Citation, Lang


def numbered(citations: list[Citation]) -> str:
    """The quotes as the model sees them; the source and date only when there are several articles."""
    several = len({c.doc_id for c in citations}) > 1
    return "\n".join(f"[{c.n}] " + (f"({c.source}, {c.date}) " if several else "") + c.quote for c in citations)


def names_line(citations: list[Citation], language: Lang) -> str:
    """Quotes in another language come with what their names and quantities are called in the
    question's language (Tyskland = Germany, dusinvis = dozens), which a small model gets wrong."""
    quotes = " ".join(c.quote for c in citations)
    if not quotes or detect_language(quotes, default=language) == language:
        return ""
    pairs = glossary(quotes, language)
    return (
        prompt_in("names", language, pairs=", ".join(f"{word} = {name}" for word, name in pairs)) + "\n"
        if pairs
        else ""
    )


def prompt_values(question: str, language: Lang, citations: list[Citation]) -> dict[str, str]:
    """What fills the user-turn template."""
    return {"sentences": numbered(citations), "names": names_line(citations, language), "question": question}


def prompt_for(language: Lang) -> ChatPromptTemplate:
    """The shared system prompt, then the user turn in the question's language."""
    return ChatPromptTemplate.from_messages([("system", prompt("system")), ("human", prompt(f"user.{language}"))])
