import pytest

from bot.lang import content_terms, detect_language


@pytest.mark.parametrize(
    "question,expected",
    [
        ("who sent troops?", "en"),
        ("Who sent troops to Kazakhstan?", "en"),
        ("and how many were hurt?", "en"),
        ("What is the capital of Denmark?", "en"),
        ("Hvem sendte tropper?", "da"),
        ("Hvem er polititalsmanden?", "da"),
        ("Hvornår faldt regeringen?", "da"),
        ("Hvad med Almaty?", "da"),
        ("hvor mange blev dræbt", "da"),
        # Danish names in an English question don't make it Danish; Danish words do.
        ("How many people live in Østervang?", "en"),
        ("What did Søren Kjærgaard say about the budget?", "en"),
        ("Hvad sagde Søren Kjærgaard?", "da"),
        ("Øgede banken renten?", "da"),
    ],
)
def test_short_questions_get_the_right_language(question, expected):
    assert detect_language(question) == expected


def test_numbers_are_normalised_and_stopwords_dropped():
    terms = content_terms("I alt er mere end 1.000 personer kommet til skade", "da")
    assert [t.lower for t in terms] == ["1000", "personer", "kommet", "skade"]
    assert terms[0].is_number
