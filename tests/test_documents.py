import json
from pathlib import Path

import pytest

from bot.documents import Article, chunk_article, parse_article, split_sentences
from bot.errors import InputError
from bot.types import ArticleRef
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


def _ninjs(tmp_path: Path, **fields: object) -> Article:
    path = tmp_path / "item.json"
    item = {"uri": "urn:x:1", "headline": "Stormen lukker broen", "body_text": "Stormen lukkede broen i nat."}
    path.write_text(json.dumps({**item, **fields}), encoding="utf-8")
    return parse_article(path)


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"copyrightholder": "Ritzau", "provider": "NTB", "byline": "By Jane Okafor, Reuters"}, "Ritzau"),
        ({"copyrightholder": " ", "provider": "NTB", "infosource": [{"name": "TT"}]}, "NTB"),
        ({"provider": {"name": "Ritzau"}, "infosource": "NTB"}, "Ritzau"),
        ({"infosource": [{"name": "dpa"}, {"name": "AFP"}], "byline": "Anna Berg, Reuters"}, "dpa"),
        ({"infosource": {"name": "Reuters"}}, "Reuters"),
        ({"infosource": "NTB"}, "NTB"),
        ({"byline": "Af Mette Holm, Ritzau"}, "Ritzau"),
        ({"byline": "By Jane Okafor, Reuters"}, "Reuters"),
        ({"byline": "Anna Berg/ritzau/"}, "Ritzau"),
        ({"byline": "Erik Svensson, the associated press"}, "Associated Press"),
        ({"byline": "Mark Hensley, AP"}, "AP"),
        ({"byline": "Claire Martin, agence france-presse"}, "Agence France-Presse"),
        ({"byline": "Claire Martin/afp"}, "AFP"),
        ({"byline": "Kari Nordmann, ntb"}, "NTB"),
        ({"byline": "Sven Berg, TT"}, "TT"),
        ({"byline": "Jonas Weber, DPA"}, "dpa"),
        ({"byline": "Amy Chen, BLOOMBERG"}, "Bloomberg"),
        ({"byline": "Mette Holm"}, "unknown"),
        ({}, "unknown"),
    ],
)
def test_a_ninjs_source_is_the_first_field_that_names_one(tmp_path: Path, fields: dict, source: str):
    assert _ninjs(tmp_path, **fields).source == source


@pytest.mark.parametrize(
    "fields",
    [
        {"copyrightholder": 42},
        {"provider": {"name": ["Ritzau"]}},
        {"provider": 7, "infosource": [3, {"name": {"name": "Ritzau"}}, None]},
        {"infosource": {"name": 5}},
        {"copyrightholder": None, "provider": [], "infosource": [[{"name": "AFP"}]], "byline": 12},
    ],
)
def test_a_source_of_another_shape_is_unknown(tmp_path: Path, fields: dict):
    assert _ninjs(tmp_path, **fields).source == "unknown"
    named = {**fields, "byline": "Af Mette Holm, Ritzau"}
    assert _ninjs(tmp_path, **named).source == "Ritzau"  # the next field that names one still counts


def test_a_ninjs_item_keeps_when_it_was_first_filed_and_when_it_was_last_updated(tmp_path: Path):
    updated = _ninjs(tmp_path, firstcreated="2025-11-18T22:10:00Z", versioncreated="2025-11-19T06:40:00Z")
    assert (updated.date, updated.first_filed) == ("2025-11-19 06:40", "2025-11-18 22:10")
    later_that_day = _ninjs(tmp_path, firstcreated="2025-11-19T06:40:00Z", versioncreated="2025-11-19T08:15:00Z")
    assert (later_that_day.date, later_that_day.first_filed) == ("2025-11-19 08:15", "2025-11-19 06:40")
    unchanged = _ninjs(tmp_path, firstcreated="2025-11-19T06:40:00Z", versioncreated="2025-11-19T06:40:00Z")
    assert unchanged.first_filed == ""
    only_filed = _ninjs(tmp_path, firstcreated="2025-11-18T22:10:00Z")
    assert (only_filed.date, only_filed.first_filed) == ("2025-11-18 22:10", "")
    assert _ninjs(tmp_path, firstcreated=20251118, versioncreated="2025-11-19T06:40:00Z").first_filed == ""
    assert parse_article(SEED).first_filed == ""


def test_the_index_lists_an_article_by_its_reference_and_reads_a_listing_written_before_first_filings(
    tmp_path: Path,
):
    article = _ninjs(
        tmp_path,
        firstcreated="2025-11-18T22:10:00Z",
        versioncreated="2025-11-19T06:40:00Z",
        byline="Af Mette Holm, Ritzau",
        links=[{"href": "https://example.org/storm"}],
    )
    ref = article.ref()
    assert ref == ArticleRef(
        doc_id="item",
        source="Ritzau",
        date="2025-11-19 06:40",
        first_filed="2025-11-18 22:10",
        title="Stormen lukker broen",
        language=article.language,
        byline="Af Mette Holm, Ritzau",
        url="https://example.org/storm",
        file="item.json",
        sha256=article.content_hash,
    )
    assert ArticleRef.from_json("item", json.loads(json.dumps(ref.to_json()))) == ref
    older = {key: value for key, value in ref.to_json().items() if key != "first_filed"}
    assert ArticleRef.from_json("item", older).first_filed == ""
