"""The verifier: a generated answer is shown only if the sentences it cites back every number,
name and claim in it. Citations are the real article's, retrieved for each question."""

import pytest

from bot.answering.verify import AnswerVerifier
from bot.lang import numbers_in
from bot.names import same_name


@pytest.fixture(scope="module")
def check(answerer):
    verifier = AnswerVerifier()

    def run(question: str, generated: str, language: str = "en") -> list[str]:
        citations = answerer.quotes(question)  # the numbered quotes a generator reads and is checked on
        text = verifier.add_missing_citation(generated, language, citations)
        return verifier.verify(text, question, language, citations).problems

    return run


def test_faithful_english_answers_over_the_danish_article_pass(check):
    assert (
        check("Who sent troops to Kazakhstan?", "A Russian-led military alliance sent troops to Kazakhstan [1].") == []
    )
    assert check("How many people were injured?", "More than 1,000 people have been injured in the unrest [1].") == []
    assert (
        check(
            "Which countries are in the alliance?",
            "Russia, Belarus, Armenia, Tajikistan, Kyrgyzstan and Kazakhstan [1].",
        )
        == []
    )
    assert check("How long have the protests been going on?", "The protests are in their third day [1].") == []


def test_faithful_danish_answer_passes(check):
    assert check("Hvornår faldt regeringen?", "Regeringen faldt onsdag på grund af urolighederne [1].", "da") == []


def test_an_injected_wrong_number_is_caught(check):
    problems = check("How many people were injured?", "More than 2000 people have been injured [1].")
    assert any("numbers" in p and "2000" in p for p in problems)
    assert any(
        "numbers" in p
        for p in check("How long have the protests been going on?", "The protests have lasted five days [1].")
    )


def test_names_absent_from_the_cited_sentences_are_caught(check):
    problems = check("Who sent troops to Kazakhstan?", "Troops were sent to Kazakhstan by President Putin [1].")
    assert any("names" in p and "Putin" in p for p in problems)
    problems = check("What is the name of Kazakhstan's president?", "The president is Nursultan Nazarbayev [1].")
    assert any("Nazarbayev" in p for p in problems)
    problems = check("Which countries are in the alliance?", "Russia, Ukraine and Armenia are in the alliance [1].")
    assert any("Ukraine" in p for p in problems) and not any("Armenia," in p for p in problems)


def test_an_injected_unsupported_clause_is_caught_in_the_same_language(check):
    problems = check(
        "Hvornår faldt regeringen?",
        "Regeringen faldt onsdag, fordi præsidenten afskedigede ministrene efter en skandale [1].",
        "da",
    )
    assert any("adds" in p for p in problems)


def test_citations_must_point_at_given_sentences(check):
    assert any(
        "not given" in p for p in check("Who sent troops to Kazakhstan?", "A Russian-led alliance sent troops [7].")
    )


def test_an_answer_without_citation_gets_the_sentence_it_rests_on(answerer):
    citations = answerer.answer("How many people were injured?").citations
    text = AnswerVerifier().add_missing_citation("More than 1000 people were injured.", "en", citations)
    assert text == "More than 1000 people were injured [1]."


def test_an_answer_in_the_wrong_language_is_caught(check):
    problems = check(
        "Who sent troops to Kazakhstan?", "En russisk-ledet militæralliance har sendt tropper til Kasakhstan [1]."
    )
    assert any("written in Danish" in p for p in problems)


def test_an_answer_that_only_repeats_the_question_or_cites_is_caught(check):
    assert any("repeats" in p for p in check("Hvem sendte tropper?", "Tropperne sendte tropper [1].", "da"))
    assert any("nothing but citations" in p for p in check("How many protesters were killed?", "[2]"))


def test_numbers_are_read_in_every_notation():
    assert numbers_in("1.000 og 1,000 og 1000") == {"1000"}
    assert "3" in numbers_in("three days", "en") and "3" in numbers_in("for tredje dag")
    assert "~100" in numbers_in("hundreds of protesters") and "~100" in numbers_in("Hundreder af demonstranter")


def test_names_match_across_spelling_and_language_but_not_across_people():
    assert same_name("Tokayev", "Tokajev") and same_name("Kazakhstan", "Kasakhstan")
    assert same_name("Belarus", "Hviderusland") and same_name("Wednesday", "onsdag")
    assert not same_name("Nazarbayev", "Tokajev") and not same_name("Ukraine", "Rusland")


def test_a_danish_answer_from_the_wrong_sentence_is_caught(check):
    """One quote holds every word of the question; an answer citing another one answers something else."""
    problems = check("Hvad er troppernes opgaver?", "Tropperne er en del af den kollektive sikkerhedspagt [2].", "da")
    assert any("does not answer from [1]" in p for p in problems)
    assert check("Hvad er troppernes opgaver?", "Troppernes primære opgaver er fredsbevarende [1].", "da") == []
    assert check("Hvilken by er den største i Kasakhstan?", "Den største by er Almaty [2].", "da") == []


def test_a_danish_compound_is_a_kind_of_its_last_part():
    from bot.answering.gate import compound_match

    assert (
        compound_match("dag", "torsdag")
        and compound_match("dag", "onsdag")
        and compound_match("brændstof", "brændstofpriserne")
    )
    assert not compound_match("by", "Almaty") and not compound_match("dag", "dagen")


def test_an_answer_must_pass_on_that_the_article_does_not_know(check):
    problems = check("How many troops were sent?", "Troops were sent to Kazakhstan [1].")
    assert any("not known" in p for p in problems)
    assert (
        check(
            "How many troops were sent?",
            "The article does not say how many troops from the pact were sent to Kazakhstan [1].",
        )
        == []
    )
    assert check("How many people were injured?", "More than 1,000 people were injured [1].") == []


def test_danish_words_copied_into_an_english_answer_are_caught(check):
    assert any(
        "copies" in p
        for p in check("What kind of soldiers arrived according to Reuters?", "Russiske faldskærmssoldater [1].")
    )
    assert any("copies" in p for p in check("Which news agencies reported this?", "AFP og Reuters [1]."))
    assert check("Which news agencies reported this?", "AFP and Reuters [1].") == []
    assert check("What is the name of Kazakhstan's president?", "Kassym-Jomart Tokajev [1].") == []


def test_an_age_or_a_cost_needs_its_own_kind_of_answer_not_just_any_number():
    from bot.answering.matching import answer_type, answer_type_evidence

    assert answer_type("How old is Saltanat Azirbek?") == "age" and answer_type("Hvad kostede broen?") == "cost"
    assert answer_type_evidence("age", "I alt er mere end 1000 personer kommet til skade.") == 0.0
    assert answer_type_evidence("age", "Den 68-årige præsident bad om hjælp.") == 1.0
    assert answer_type_evidence("cost", "Broen har kostet 40 millioner kroner.") == 1.0
    assert answer_type_evidence("quantity", "I alt er mere end 1000 personer kommet til skade.") == 1.0


def test_a_question_asking_for_a_name_is_answered_with_one_of_the_quotes_names(check):
    problems = check("What is the name of Kazakhstan's president?", "Kazakhstan's president is a politician [1].")
    assert any("names in the sentences" in p and "Tokajev" in p for p in problems)
    assert "Kasakhstan" not in " ".join(problems)  # a name the question already holds is no answer
    assert (
        check("What is the name of Kazakhstan's president?", "Kazakhstan's president is Kassym-Jomart Tokayev [1].")
        == []
    )
    assert check("Hvad hedder polititalsmanden?", "Polititalsmanden hedder Saltanat Azirbek [1].", "da") == []
    assert any(
        "names in the sentences" in p
        for p in check("Hvad hedder polititalsmanden?", "Han er talsmand for politiet [1].", "da")
    )


def test_a_name_given_comes_from_a_quote_that_holds_the_questions_own_names(answerer, check):
    # The quotes name Kazakhstan's president; Russia's is not in them. (The gate declines these
    # questions already; the verifier is the second line, for whatever gets past it.)
    from bot.answering.chain import citations_from
    from bot.answering.retrieve import retrieve

    def problems(question: str, generated: str, language: str) -> list[str]:
        vector = answerer.index.embeddings.embed_questions([question])[0]
        quotes = citations_from(retrieve(answerer.index, vector), answerer.index)
        return AnswerVerifier().verify(generated, question, language, quotes).problems

    assert any(
        "Tokajev" in p and "Russia" in p
        for p in problems(
            "Who is the president of Russia?", "Kassym-Jomart Tokajev is the president of Russia [1].", "en"
        )
    )
    assert any("Ruslands" in p for p in problems("Hvem er Ruslands præsident?", "Kassym-Jomart Tokajev [1].", "da"))
    assert check("What is the name of Kazakhstan's president?", "Kassym-Jomart Tokayev [1].") == []


def test_a_single_word_of_the_article_left_untranslated_is_caught(check):
    # Too short for the language check and no two copied words in a row: still a copy.
    problems = check(
        "How many people were injured?",
        "More than 1000 personer have been injured in the unrest [1].",
    )
    assert any("copies" in p and "personer" in p for p in problems)
    # Names and words both languages share are not copies.
    assert (
        check(
            "Where did demonstrators try to storm buildings?",
            "They tried to storm administrative buildings in Almaty [1].",
        )
        == []
    )


# Answers that restate the question as if the quotes said it: the question's words, names and
# numbers are what is asked, not support for a claim.
def test_an_opinion_invented_from_the_questions_words_is_rejected(check):
    problems = check(
        "What does the Liberal Party think about the troops?",
        "The Liberal Party thinks there is unrest in the country [1].",
    )
    assert any("Liberal" in p for p in problems)
    problems = check("Hvad mener Venstre om tropperne?", "Venstre mener, at tropperne skaber uro i landet [1].", "da")
    assert any("adds" in p and "mener" in p for p in problems)


def test_a_number_taken_from_the_question_is_rejected(check):
    problems = check("How many of the 300 demonstrators were arrested?", "300 demonstrators were arrested [1].")
    assert any("numbers" in p and "300" in p for p in problems)


def test_a_half_translated_answer_is_rejected(check):
    problems = check("Why were the troops sent?", "Tropperne supposed to be helping with urolighederne [1].")
    assert any("copies" in p or "written in" in p for p in problems)
