"""`newsbot chat`: the bots' conversation logic in a terminal, for trying it without a token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import click

from bot.config import Settings
from bot.errors import InputError
from bot.frontends.conversation import Conversations, Reply, open_conversations
from bot.frontends.render import draft_text, plain, refined_plain, stage_line
from bot.texts import help_text, printable, reply
from bot.types import Answer


async def _loop(conversations: Conversations) -> None:
    key = "terminal"
    while True:
        try:
            text = await asyncio.to_thread(input, "? ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        command, _, argument = text.strip().partition(" ")
        if command in ("/quit", "/exit"):
            return
        if command == "/new":
            conversations.forget(key)
            click.echo(reply("new_conversation", conversations.reply_language(key, text)))
            continue
        if command == "/lang":
            choice = argument.strip().lower()
            if choice in ("da", "en", "auto"):
                conversations.set_language(key, choice)
                click.echo(reply("lang_set", conversations.reply_language(key, text), setting=choice))
            else:
                click.echo(reply("lang_usage", conversations.reply_language(key, text)))
            continue
        if command in ("/help", "/start"):
            language = conversations.reply_language(key, "help")
            # the headlines as an index built from older files may hold them, escapes and all
            click.echo(printable(help_text("terminal", language, conversations.articles_summary())))
            continue
        try:
            question = conversations.check(text)
        except InputError as error:
            click.echo(str(error))
            continue
        await _show(conversations.replies(key, question))
        click.echo()


async def _show(replies: AsyncIterator[Reply]) -> None:
    """The quick answer, then the fuller one's words as the model writes them (a draft, said so),
    then how it ends: the verified answer, or a note that the quotes stand."""
    first: Answer | None = None
    written = ""  # the draft words printed so far
    async for view in replies:
        if first is None:
            first = view.answer
            click.echo(plain(first))
            if view.stage == "writing":
                click.echo(f"\n{stage_line(view)}")
        elif view.stage == "draft":
            words = draft_text(view.draft)
            # A second attempt starts over on a line of its own.
            click.echo(words[len(written) :] if words.startswith(written) else f"\n{words}", nl=False)
            written = words
        else:
            if written:
                click.echo()
            if refined := refined_plain(view.answer, first) if view.stage == "answer" else stage_line(view):
                click.echo(f"\n{refined}")


def run_chat(settings: Settings) -> None:
    from bot.service import load_answerer

    answerer, _ = load_answerer(settings, notify=lambda m: click.echo(f"newsbot: {m}", err=True))
    click.echo("newsbot chat – ask about the articles in Danish or English. /help, /lang da|en|auto, /new, /quit.")
    asyncio.run(
        _loop(open_conversations(settings.model_copy(update={"allowed_users": ""}), answerer, rate_limit=10**6))
    )
