"""Turning an Answer into text for a terminal, Telegram (HTML) or Slack (Block Kit).

A fluent answer is shown with the quote it rests on directly under it; a reply whose fuller
answer is still being written says so, and shows that answer as a draft until it is checked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from textwrap import shorten
from typing import TYPE_CHECKING

from bot.answering.browse import Listing, Page
from bot.answering.marks import CITATION_MARK
from bot.texts import message, printable, reply
from bot.types import Answer, Briefing, Citation, Lang, StoryChoice

if TYPE_CHECKING:
    from bot.frontends.conversation import Reply

QUOTE_IN_VIEW = 1000  # characters of the quote kept in view under a fluent answer; all of it under "Show quotes"
HEADLINE_IN_LIST = 150  # characters of a headline in an article list: eight fit one message
_CITATION_MARK = re.compile(r"\s*" + CITATION_MARK.pattern)  # with the space before it


def dated(date: str, first_filed: str, language: Lang) -> str:
    """An article's date, with the day it was first filed when that was another day
    ("2025-11-19 06:40 (first filed 2025-11-18)"): a story updated overnight is of both days."""
    first_day = first_filed.split(" ")[0]
    if not first_day or first_day == date.split(" ")[0]:
        return date
    return f"{date} ({reply('first_filed', language, date=first_day)})"


def source_label(citation: Citation, language: Lang) -> str:
    """ "ritzau, 2022-01, ¶4" – compact enough for a phone screen; the byline where the archive has
    one, the day it was first filed when the story was updated on another, and with several
    articles indexed the article's first words too
    ("ritzau, Anna Holm, 2022-01, “Regeringen er faldet efter…”, ¶4"), in the reply's `language`."""
    who = f"{citation.source}, {citation.byline}" if citation.byline else citation.source
    when = dated(citation.date, citation.first_filed, language)
    article = f"{who}, {when}" + (f", “{citation.headline}”" if citation.headline else "")
    return f"{article}, ¶{citation.paragraph}"


def web_address(citation: Citation) -> str:
    """The article's address when it is one a reader can open (http or https), else ""."""
    return citation.url if re.match(r"https?://[^\s<>|\"]+$", citation.url) else ""


def source_html(citation: Citation, language: Lang) -> str:
    """The source label for Telegram's HTML mode, a link to the article where it has an address."""
    label = html.escape(source_label(citation, language), quote=False)
    address = web_address(citation)
    return f'<a href="{html.escape(address)}">{label}</a>' if address else label


def source_mrkdwn(citation: Citation, language: Lang) -> str:
    """The source label for Slack, a link to the article where it has an address."""
    label = slack_escape(source_label(citation, language))
    address = web_address(citation)
    return f"<{slack_escape(address)}|{label}>" if address else label


def plain(answer: Answer) -> str:
    """The answer and its sources as plain text for a terminal (control characters, as a model
    may write them, left out)."""
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines.append("Kilder:" if answer.language == "da" else "Sources:")
        for c in answer.citations:
            address = f" {web_address(c)}" if web_address(c) else ""
            lines.append(f"[{c.n}] {source_label(c, answer.language)}: «{c.quote}»{address}")
    return printable("\n".join(lines))


def refined_plain(final: Answer, first: Answer) -> str | None:
    """What a terminal adds under the first answer once the generator is done; None for nothing."""
    if not final.replaces(first):
        return None if final.verified else reply("unverified", first.language)
    if final.answerable != first.answerable:
        return printable(f"({final.backend} read the quotes) " + (plain(final) if final.answerable else final.answer))
    return printable(f"{final.answer}  ({final.backend}, verified)")


def brief_plain(briefing: Briefing) -> str:
    """A briefing as plain text: the header, then one bullet per line with its source."""
    lines = [briefing.header]
    for n, b in enumerate(briefing.bullets, start=1):
        lines.append(f"• {b.text} [{n}] ({source_label(b.citation, briefing.language)})")
    return printable("\n".join(lines))


def brief_telegram_html(briefing: Briefing) -> str:
    lines = [f"<b>{html.escape(briefing.header, quote=False)}</b>"]
    for n, b in enumerate(briefing.bullets, start=1):
        label = html.escape(source_label(b.citation, briefing.language), quote=False)
        lines.append(f"• {html.escape(b.text, quote=False)} <i>[{n}] {label}</i>")
    return "\n".join(lines)


def sources_header(page: Page, language: Lang) -> str:
    """What a page of the archive is: which articles of how many, or that the term matches none."""
    if not page.listings:
        return reply("sources_none", language, term=page.term, total=page.total)
    if page.term:
        return reply(
            "sources_matching", language, term=page.term, first=page.first, last=page.last, count=page.matching
        )
    return reply("sources_page", language, first=page.first, last=page.last, count=page.matching)


def sources_footer(page: Page, language: Lang) -> str:
    """ "Page 1 of 3"; "" for a single page."""
    return reply("sources_pages", language, number=page.number, pages=page.pages) if page.pages > 1 else ""


def headline(listing: Listing) -> str:
    if len(listing.title) <= HEADLINE_IN_LIST:
        return listing.title
    return listing.title[:HEADLINE_IN_LIST].rsplit(" ", 1)[0] + " …"


def listing_plain(listing: Listing, language: Lang) -> str:
    """An article on one line for a terminal: date, source, id, headline, byline and link."""
    when = dated(listing.date, listing.first_filed, language)
    line = f"{when:<16}  {listing.source:<12} {listing.doc_id}  {headline(listing)}"
    line += (f" — {listing.byline}" if listing.byline else "") + (f"  {listing.url}" if listing.url else "")
    return printable(line)


def sources_telegram_html(page: Page, language: Lang) -> str:
    """A page of the archive in Telegram's HTML: a line per article, its headline linked when it has a link."""
    lines = [f"<b>{html.escape(sources_header(page, language), quote=False)}</b>"]
    for listing in page.listings:
        title = html.escape(headline(listing), quote=False)
        if listing.url:
            title = f'<a href="{html.escape(listing.url)}">{title}</a>'
        byline = f" ({html.escape(listing.byline, quote=False)})" if listing.byline else ""
        when = html.escape(dated(listing.date, listing.first_filed, language), quote=False)
        lines.append(f"{when} · <i>{html.escape(listing.source, quote=False)}</i>{byline} · {title}")
    footer = sources_footer(page, language)
    return "\n".join([*lines, f"<i>{footer}</i>"] if footer else lines)


def in_view(citation: Citation) -> str:
    """The quote shown under a fluent answer, cut at a word when it is long."""
    if len(citation.quote) <= QUOTE_IN_VIEW:
        return citation.quote
    return citation.quote[:QUOTE_IN_VIEW].rsplit(" ", 1)[0] + " …"


def draft_text(draft: str) -> str:
    """A draft as shown: its [n] left out, as they are renumbered once it is checked (and control
    characters a model may write)."""
    return " ".join(_CITATION_MARK.sub("", printable(draft)).split())


def stage_line(shown: Reply) -> str:
    """What a reply says under its answer at its stage, as plain text; "" for nothing."""
    language = shown.answer.language
    if shown.stage == "writing":
        return message("writing", language)
    if shown.stage == "draft":
        return f"✍️ {draft_text(shown.draft)} ({message('checking', language)})"
    if shown.stage == "unverified":
        return reply("unverified", language)
    return ""


def caveat_and_rest(answer: Answer) -> tuple[str, str]:
    """A "closest" reply's first line (the articles don't say exactly that) and the quotes under
    it; ("", the whole text) for every other reply."""
    if answer.verdict != "closest" or "\n" not in answer.answer:
        return "", answer.answer
    caveat, rest = answer.answer.split("\n", 1)
    return caveat, rest


def telegram_html(answer: Answer) -> str:
    """The answer with compact sources, every piece of text escaped for Telegram's HTML mode; a
    fluent answer with its first quote right under it, as an expandable quotation; a "closest"
    reply with its caveat in italics above the quotes."""
    caveat, rest = caveat_and_rest(answer)
    parts = [html.escape(rest, quote=False)]
    if caveat:
        parts[0] = f"<i>{html.escape(caveat, quote=False)}</i>\n{parts[0]}"
    if answer.fluent:
        first = answer.citations[0]
        parts[0] += f"\n<blockquote expandable>[{first.n}] {html.escape(in_view(first), quote=False)}</blockquote>"
    if answer.citations:
        sources = " · ".join(f"[{c.n}] {source_html(c, answer.language)}" for c in answer.citations)
        parts.append(f"<i>{sources}</i>")
    return "\n\n".join(parts)


def telegram_reply_html(shown: Reply) -> str:
    """A reply at its stage: the answer, then (italic) what is still happening or how it ended."""
    text = telegram_html(shown.answer)
    line = stage_line(shown)
    return f"{text}\n\n<i>{html.escape(line, quote=False)}</i>" if line else text


def telegram_quotes_html(answer: Answer) -> str:
    """The full quotes, for the "show quotes" button."""
    return "\n\n".join(
        f"<b>[{c.n}]</b> <i>{source_html(c, answer.language)}</i>\n"
        f"<blockquote>{html.escape(c.quote, quote=False)}</blockquote>"
        for c in answer.citations
    )


# --- Slack (Block Kit) ---------------------------------------------------------
SLACK_SECTION_LIMIT = 3000


def slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (&, <, >) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict:
    if len(text) > SLACK_SECTION_LIMIT:
        text = text[: SLACK_SECTION_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SLACK_SECTION_LIMIT]}]}


def slack_blocks(answer: Answer) -> list[dict]:
    """The answer, then each quoted sentence with its source: a handful of blocks, far below Slack's
    50; a "closest" reply starts with its caveat as a context line."""
    caveat, rest = caveat_and_rest(answer)
    blocks = [_context(f"_{slack_escape(caveat)}_")] if caveat else []
    blocks.append(_section(slack_escape(rest)))
    for c in answer.citations:
        blocks.append(_section(f"*[{c.n}]* " + "\n".join("> " + line for line in slack_escape(c.quote).splitlines())))
        blocks.append(_context(source_mrkdwn(c, answer.language)))
    return blocks


def slack_reply_blocks(shown: Reply) -> list[dict]:
    """A reply at its stage: the answer's blocks, then what is still happening or how it ended."""
    blocks = slack_blocks(shown.answer)
    line = stage_line(shown)
    return [*blocks, _context(f"_{slack_escape(line)}_")] if line else blocks


def slack_brief_blocks(briefing: Briefing) -> list[dict]:
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": briefing.header[:150]}}]
    for n, b in enumerate(briefing.bullets, start=1):
        blocks.append(_section(f"• {slack_escape(b.text)} *[{n}]*"))
        blocks.append(_context(slack_escape(source_label(b.citation, briefing.language))))
    return blocks


def slack_sources_blocks(page: Page, language: Lang) -> list[dict]:
    """A page of the archive as Block Kit: the header, a section per article (its headline linked
    when it has a link), and the page it is; at most 2 + 8 blocks."""
    blocks = [_section(f"*{slack_escape(sources_header(page, language))}*")]
    for listing in page.listings:
        title = slack_escape(headline(listing))
        if listing.url:
            title = f"<{slack_escape(listing.url)}|{title.replace('|', '¦')}>"
        byline = f" ({slack_escape(listing.byline)})" if listing.byline else ""
        when = slack_escape(dated(listing.date, listing.first_filed, language))
        blocks.append(_section(f"*{when}* · _{slack_escape(listing.source)}_{byline} · {title}"))
    footer = sources_footer(page, language)
    return [*blocks, _context(footer)] if footer else blocks


def story_button(number: int, story: StoryChoice) -> str:
    """A "Which story?" button's label: the story's number and headline, as short as a button shows."""
    return f"{number}) {shorten(story.title, 60, placeholder=' …')}"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = 4096, length: Callable[[str], int] = utf16_length) -> list[str]:
    """Pieces of at most `limit` by `length` (UTF-16 code units, or those of the text once escaped),
    cut at paragraph, line, sentence or word breaks.

    Only plain text is split safely; callers split before adding HTML tags where possible."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    while length(text) > limit:
        cut = _cut_point(text, limit, length)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _cut_point(text: str, limit: int, length: Callable[[str], int]) -> int:
    # The longest prefix within the limit, then the last good break inside it.
    end = len(text)
    while length(text[:end]) > limit:
        end = max(1, end - max(1, (length(text[:end]) - limit)))
    window = text[:end]
    for separator in ("\n\n", "\n", ". ", "? ", "! ", " "):
        position = window.rfind(separator)
        if position > end // 3:
            return position + len(separator)
    return end
