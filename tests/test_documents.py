from pathlib import Path

import pytest

from bot.documents import chunk_article, parse_article, split_sentences
from bot.errors import InputError
from tests.conftest import SEED


def test_seed_metadata_is_parsed_and_kept_out_of_the_text():
    article = parse_article(SEED)
    assert (article.doc_id, article.source, article.date) == ("000_630a647b04b832ad", "ritzau", "2022-01")
    assert article.title == "En russisk-ledet militæralliance har torsdag sendt tropper til Kasakhstan."
    assert article.paragraphs[0].startswith("En russisk-ledet")
    assert not any("/ritzau/" in p or p.startswith("date") for p in article.paragraphs)
    assert len(article.paragraphs) == 18


def test_chunks_are_paragraphs_numbered_from_one_with_exact_sentence_spans():
    chunks, sentences = chunk_article(parse_article(SEED))
    assert [c.metadata["paragraph"] for c in chunks] == list(range(1, 19))
    for chunk in chunks:
        for start, end in chunk.metadata["sentences"]:
            assert chunk.page_content[start:end] in [s.page_content for s in sentences]
    fifteen = [s.page_content for s in sentences if s.metadata["paragraph"] == 15]
    assert fifteen == [
        "I alt er mere end 1000 personer kommet til skade under urolighederne.",
        "Det oplyser sundhedsministeriet torsdag.",
    ]


def test_a_date_like_19_januar_does_not_end_a_sentence():
    assert split_sentences("Den er i kraft frem til 19. januar. Så slutter den.") == [
        "Den er i kraft frem til 19. januar.",
        "Så slutter den.",
    ]


def test_a_long_paragraph_is_split_on_sentence_boundaries(tmp_path: Path):
    sentence = "Dette er en ganske almindelig sætning om en lang og detaljeret sag i byen."
    path = tmp_path / "long.txt"
    path.write_text(" date 2023-05 " + " ".join([sentence] * 40) + "\n\n/dpa/\n", encoding="utf-8")
    chunks, sentences = chunk_article(parse_article(path))
    assert len(chunks) > 1 and all(len(c.page_content) <= 1000 for c in chunks)
    assert all(c.page_content.endswith(".") for c in chunks)
    assert len(sentences) == 40


def test_plain_markdown_gets_default_metadata(tmp_path: Path):
    path = tmp_path / "note.md"
    path.write_text("# Headline here\n\nBody text.\n", encoding="utf-8")
    article = parse_article(path)
    assert (article.source, article.date, article.title) == ("unknown", "undated", "Headline here")


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b" date 2022-01 \n\n/ritzau/\n", b"\xff\xfe broken"])
def test_empty_or_undecodable_articles_are_refused_clearly(tmp_path: Path, content: bytes):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.txt"):
        parse_article(path)


def test_control_characters_are_dropped_from_an_article_and_its_paragraphs_kept(tmp_path: Path):
    path = tmp_path / "dirty.txt"
    path.write_bytes(
        " date 2023-02 Broen\x00 åbner\x1b[0m mandag.\tKl. 10.\x85\n\nDet oplyser\x7f kommunen.\n".encode()
    )
    article = parse_article(path)
    assert article.paragraphs == ["Broen åbner[0m mandag. Kl. 10.", "Det oplyser kommunen."]


def test_escapes_written_as_json_escapes_in_a_ninjs_article_are_dropped_once_decoded(tmp_path: Path):
    path = tmp_path / "wire.json"
    path.write_text(
        '{"uri": "urn:x:1", "headline": "Storm\\u001b[2J over\\u009b31m Fyn", "byline": "Anna\\u0007 Holm",'
        ' "copyrightholder": "dpa\\u001b]8;;", "body_html": "<p>Stormen &#27;[2Jlukker broen.</p>",'
        ' "links": [{"href": "https://example.org/\\u001b[5mstorm"}]}',
        encoding="utf-8",
    )
    article = parse_article(path)
    shown = [article.title, article.byline, article.source, article.url, *article.paragraphs]
    assert not any(c in text for text in shown for c in "\x1b\x9b\x07")
    assert article.title == "Storm[2J over31m Fyn" and article.paragraphs == ["Stormen [2Jlukker broen."]


def test_a_source_keeps_the_case_it_is_written_in(tmp_path):
    import json

    seed = tmp_path / "wire.txt"
    seed.write_text("date 2024-03-01 The Example Wire reports a result.\n\n/Example Wire/\n", encoding="utf-8")
    ninjs = tmp_path / "story.json"
    ninjs.write_text(
        json.dumps({"uri": "x", "headline": "H", "body_text": "A sentence here.", "copyrightholder": "Ritzau"}),
        encoding="utf-8",
    )
    assert parse_article(seed).source == "Example Wire"
    assert parse_article(ninjs).source == "Ritzau"
