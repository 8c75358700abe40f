"""Which story a question is about when it names nothing that tells one story from another:
"Who came second?" fits every race in an archive. In a conversation the previous answer's story
is asked first (`Question.story`); a standalone question whose best passages come from several
stories about equally gets a short choice among them instead of a guess."""

from __future__ import annotations

from bot.answering.features import QuestionAnalysis, same_story, story_names, wording_overlap
from bot.answering.retrieve import Retrieval
from bot.store.news_index import NewsIndex
from bot.types import StoryChoice

MAX_CHOICES = 3
# Passages looked at for rival stories: the ranker's best few, as the quotes a reply may show.
LOOKED_AT = 8
# Two leads that name nothing are one story's when they share this much of their wording.
SAME_LEAD = 0.5


def competing_stories(
    analysis: QuestionAnalysis, retrieval: Retrieval, index: NewsIndex, share: float
) -> list[StoryChoice]:
    """The stories to choose among when a question that names nothing fits several about equally:
    the stories whose best passage has at least `share` of the best passage's probability, one
    entry per story (an article and its versions are one), best first, at most MAX_CHOICES.
    [] when one story stands out, or when the question names someone or something (its names
    pick the story)."""
    if analysis.names or not retrieval.passages:
        return []
    best = retrieval.passages[0].score
    stories: list[tuple[str, str]] = []
    for passage in retrieval.passages[:LOOKED_AT]:
        doc_id = passage.lead.doc_id
        lead = index.lead(doc_id)
        if passage.score >= share * best and not any(
            doc_id == known or _one_story(lead, known_lead) for known, known_lead in stories
        ):
            stories.append((doc_id, lead))
    if len(stories) < 2:
        return []
    return [_choice(index, doc_id) for doc_id, _ in stories[:MAX_CHOICES]]


def _one_story(lead: str, other: str) -> bool:
    """Whether two articles with these leads tell one story: the names the leads give
    (`same_story`), or, for leads that name nobody, most of their wording (a version with other
    figures)."""
    names, other_names = story_names(lead), story_names(other)
    if names or other_names:
        return same_story(names, other_names)
    return wording_overlap(lead, other) >= SAME_LEAD


def _choice(index: NewsIndex, doc_id: str) -> StoryChoice:
    article = index.articles[doc_id]
    return StoryChoice(doc_id, article.title, article.source, article.date)
