"""What names and rough quantities are called in the other language: from CLDR and ISO 3166."""

from bot.names import glossary


def test_danish_country_day_and_month_names_get_their_english_names():
    pairs = dict(
        glossary("Pagten mellem Hviderusland, Kirgistan og Rusland blev torsdag udvidet til 19. januar.", "en")
    )
    assert pairs == {
        "Hviderusland": "Belarus",
        "Kirgistan": "Kyrgyzstan",
        "Rusland": "Russia",
        "torsdag": "Thursday",
        "januar": "January",
    }


def test_rough_quantities_are_translated_and_ordinary_words_left_alone():
    pairs = dict(glossary("Dusinvis af demonstranter blev dræbt, og hundreder er på gaderne i byen.", "en"))
    assert pairs == {"dusinvis": "dozens", "hundreder": "hundreds"}


def test_english_names_get_their_danish_names():
    pairs = dict(glossary("On Wednesday Kazakhstan's government fell; dozens died in Belarus.", "da"))
    assert pairs == {"Wednesday": "onsdag", "Kazakhstan": "Kasakhstan", "dozens": "dusinvis"}


def test_names_already_written_the_target_way_are_not_listed():
    assert glossary("Almaty og Armenia", "en") == []
    assert glossary("Hvideruslands præsident", "da") == []  # Danish has both Belarus and Hviderusland
