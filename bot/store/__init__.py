"""Vector stores (LangChain `VectorStore`s) and the persisted news index built on them."""

from bot.store.faiss_store import FaissVectorStore
from bot.store.news_index import NewsIndex, open_index

__all__ = ["FaissVectorStore", "NewsIndex", "open_index"]
