"""The Telegram bot (python-telegram-bot v22): private chats, groups, inline mode, commands.

Handlers are small and do one thing; all wiring is in `build_application`. Works against any
Bot API server at TELEGRAM_API_BASE_URL (a self-hosted one, or the tests' local server).
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import signal
import time
import uuid
from functools import partial
from typing import Any, cast

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answering.browse import Page
from bot.config import Settings
from bot.errors import ConfigError, InputError, NewsbotError
from bot.frontends.archive_watch import ArchiveWatch
from bot.frontends.conversation import Conversations, InFlight, Reply, choice_token, open_conversations
from bot.frontends.listening import check_port
from bot.frontends.render import (
    brief_telegram_html,
    sources_telegram_html,
    split_message,
    story_button,
    telegram_html,
    telegram_quotes_html,
    telegram_reply_html,
    utf16_length,
)
from bot.lang import detect_language
from bot.operations.recorder import NO_RECORDER, Asked, Recorder
from bot.operations.runtime import Runtime
from bot.operations.stats import stats_text
from bot.texts import help_text, message, reply
from bot.types import Answer, Lang

logger = logging.getLogger(__name__)
STARTUP_ATTEMPTS = 5  # waits of 1, 2, 4 and 8 s between them: a Bot API restarting comes back in that time
EDIT_INTERVAL = 1.1  # seconds between edits in one chat: Telegram advises about one message a second per chat
MAX_CALLBACK_DATA = 64  # bytes: Telegram's limit for a button's callback_data
GONE = ("message to be replied not found", "replied message not found", "message to edit not found")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # a list of links shouldn't grow the first one's preview


class PacedRateLimiter(AIORateLimiter):
    """PTB's rate limiter, plus at most one edit per `EDIT_INTERVAL` in each chat (counted from the
    chat's last message or edit), so a streamed answer never edits faster than Telegram allows."""

    def __init__(self, edit_interval: float = EDIT_INTERVAL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.edit_interval = edit_interval
        self._last: dict[object, float] = {}
        self._locks: dict[object, asyncio.Lock] = {}

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat = data.get("chat_id")
        if chat is None or endpoint not in ("sendMessage", "editMessageText"):
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        if endpoint == "sendMessage":
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            finally:
                self._last[chat] = time.monotonic()
        async with self._locks.setdefault(chat, asyncio.Lock()):
            await asyncio.sleep(max(0.0, self._last.get(chat, 0.0) + self.edit_interval - time.monotonic()))
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            finally:
                self._last[chat] = time.monotonic()


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """Typed access to the shared conversation state."""

    @property
    def conversations(self) -> Conversations:
        return self.application.bot_data["conversations"]

    @property
    def in_flight(self) -> InFlight:
        return self.application.bot_data["in_flight"]

    @property
    def recorder(self) -> Recorder:
        return self.application.bot_data.get("recorder", NO_RECORDER)

    @property
    def runtime(self) -> Runtime | None:
        return self.application.bot_data.get("runtime")


def _user_language(update: Update) -> Lang:
    code = (update.effective_user.language_code or "") if update.effective_user else ""
    return "da" if code.startswith("da") else "en"


def _chat_key(chat_id: int) -> str:
    return f"telegram:{chat_id}"


def _asked(update: Update, text: str) -> Asked:
    """The question as the answer log and the metrics see it."""
    chat = update.effective_chat.type if update.effective_chat else "inline"
    return Asked("telegram", chat, str(update.effective_user.id if update.effective_user else ""), text)


async def check_access(update: Update, context: BotContext) -> None:
    """Before any handler (group -1), for every kind of update: a user outside NEWSBOT_ALLOWED_USERS
    gets no answer, quotes, vote, headline or inline result. A private message is told the user's
    id; a button press or inline query is answered empty, as Telegram expects it answered."""
    user = update.effective_user
    if context.conversations.is_allowed(user.id if user else None):
        return
    message = update.effective_message
    if update.callback_query:
        await update.callback_query.answer()
    elif update.inline_query:
        await update.inline_query.answer([], cache_time=5, is_personal=True)
    elif message and message.chat.type == ChatType.PRIVATE:  # in groups, others' messages pass silently
        text = message.text or ""
        language = detect_language(text) if text else _user_language(update)
        await message.reply_text(reply("not_allowed", language, user_id=user.id if user else "?"))
        context.recorder.refused(_asked(update, text), "refused", language, "not an allowed user")
    raise ApplicationHandlerStop


async def _gatekeep(update: Update, context: BotContext, text: str) -> bool:
    """The rate limit, which questions, briefings and inline queries count against alike; says so
    once when someone hits it (where there is a message to answer). True means go ahead."""
    user = update.effective_user
    conversations = context.conversations
    allowed, warn = conversations.rate.allow(user.id if user else 0)
    if allowed:
        return True
    language = detect_language(text) if text else _user_language(update)
    context.recorder.refused(_asked(update, text), "rate-limited", language, "over the rate limit")
    if warn and update.effective_message:
        await update.effective_message.reply_text(reply("rate_limited", language, limit=conversations.rate.limit))
    return False


async def _send_answer(
    message: Message, context: BotContext, question: str, asker: User | None = None, choice: str | None = None
) -> None:
    """Answer `question` as a reply to `message` (asked by `asker`, by default the message's
    author; a story's number pressed under the "Which story?" reply `choice`): extractive first,
    edited into a fluent one if any."""
    async with context.in_flight.track():  # a stopping bot finishes it, or drops it (see `InFlight`)
        await _answer_with_replies(message, context, question, asker or message.from_user, choice)


async def _answer_with_replies(
    message: Message, context: BotContext, question: str, asker: User | None, choice: str | None
) -> None:
    conversations = context.conversations
    asked = Asked("telegram", message.chat.type, str(asker.id if asker else ""), question)
    try:
        question = conversations.check(question)
    except InputError as error:
        await message.reply_text(str(error))
        context.recorder.refused(asked, "refused", detect_language(question), str(error))
        return
    await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
    key = asked.id  # names the answer for its buttons and in the answer log
    sent: Message | None = None
    shown: tuple[str, InlineKeyboardMarkup | None] | None = None
    first: Answer | None = None
    last: Answer | None = None
    async for view in conversations.replies(_chat_key(message.chat_id), question, choice=choice):
        conversations.remember(key, view.answer)
        if shown is None:
            sent, shown = await _send_reply(message, key, view)
            asked.reply_sent()
            first = view.answer
        elif sent is not None:  # a reply sent in several pieces is not edited
            shown = await _edit_reply(sent, key, view, shown)
        last = view.answer
    if first is not None and last is not None:
        context.recorder.answered(asked, first, last if last is not first else None)


async def _send_reply(
    message: Message, key: str, view: Reply
) -> tuple[Message | None, tuple[str, InlineKeyboardMarkup | None]]:
    """The first reply, in as many pieces as it takes; the message to edit later (None when it
    took several) and what it shows."""
    pieces = _reply_pieces(view)
    markup = _quotes_button(key, view.answer)
    sent = await message.reply_html(
        pieces[0],
        reply_parameters=ReplyParameters(message.message_id),
        reply_markup=markup if len(pieces) == 1 else None,
    )
    for index, piece in enumerate(pieces[1:], start=2):
        await message.chat.send_message(
            piece, parse_mode=ParseMode.HTML, reply_markup=markup if index == len(pieces) else None
        )
    return (sent if len(pieces) == 1 else None), (pieces[-1], markup)


async def _edit_reply(
    sent: Message, key: str, view: Reply, shown: tuple[str, InlineKeyboardMarkup | None]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Edit the reply into `view`, with its buttons; an edit that would change nothing (which
    Telegram refuses) or not fit in one message is not made. Returns what the reply shows."""
    text = telegram_reply_html(view)
    wanted = (text, _quotes_button(key, view.answer))
    if wanted == shown or utf16_length(text) > 4096:
        return shown
    try:
        await sent.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=wanted[1])
    except BadRequest as error:  # e.g. the message was deleted meanwhile: the reply stays as it was
        logger.warning("Could not edit a reply: %s", error)
        return shown
    return wanted


def _reply_pieces(view: Reply) -> list[str]:
    """The reply at its stage in one message when it fits; otherwise the answer in pieces."""
    whole = telegram_reply_html(view)
    return [whole] if utf16_length(whole) <= 4096 else _pieces(view.answer)


def _quotes_button(key: str, answer: Answer) -> InlineKeyboardMarkup | None:
    """The "show quotes" button under an answer that has quotes, and 👍 / 👎 beside it; under a
    "Which story?" reply, a button per story."""
    if answer.stories:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        story_button(n, story),
                        callback_data=f"story:{choice_token(answer)}:{n}",
                    )
                ]
                for n, story in enumerate(answer.stories, start=1)
            ]
        )
    if not answer.citations:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(message("show_quotes", answer.language), callback_data=f"quotes:{key}"),
                *_feedback_buttons(key),
            ]
        ]
    )


def _feedback_buttons(key: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton("👍", callback_data=f"vote:up:{key}"),
        InlineKeyboardButton("👎", callback_data=f"vote:down:{key}"),
    ]


def _pieces(answer: Answer) -> list[str]:
    """The rendered answer in pieces of at most 4096 UTF-16 units; split as plain text, then escaped."""
    whole = telegram_html(answer)
    if utf16_length(whole) <= 4096:
        return [whole]
    # Split the raw answer text by its escaped length ("&" becomes "&amp;"), then escape each piece.
    pieces = split_message(answer.answer, limit=4096, length=lambda text: utf16_length(html.escape(text, quote=False)))
    return [html.escape(piece, quote=False) for piece in pieces]


# --- handlers ------------------------------------------------------------------
async def start(update: Update, context: BotContext) -> None:
    """Greet and explain (same text as /help)."""
    await help_command(update, context)


async def help_command(update: Update, context: BotContext) -> None:
    """What the bot knows, with examples in both languages."""
    language = context.conversations.language(_chat_key(update.effective_chat.id)) or _user_language(update)
    await update.effective_message.reply_text(help_text("telegram", language, context.conversations.articles_summary()))


def _chat_language(update: Update, context: BotContext) -> Lang:
    chat = update.effective_chat
    return (context.conversations.language(_chat_key(chat.id)) if chat else None) or _user_language(update)


def _page_data(conversations: Conversations, number: int, term: str) -> str:
    """A page button's callback_data: the page and the term, or a key for a term too long to fit."""
    data = f"sources:{number}:{term}"
    if len(data.encode()) <= MAX_CALLBACK_DATA:
        return data
    return f"sources#{number}:{conversations.remember_search(term)}"


def _page_buttons(conversations: Conversations, page: Page, language: Lang) -> InlineKeyboardMarkup | None:
    """«‹ Newer» and «Older ›» under a page of the archive, those that lead somewhere."""
    buttons = [
        InlineKeyboardButton(message(label, language), callback_data=_page_data(conversations, number, page.term))
        for label, number, shown in (("newer", page.number - 1, page.newer), ("older", page.number + 1, page.older))
        if shown
    ]
    return InlineKeyboardMarkup([buttons]) if buttons else None


async def sources(update: Update, context: BotContext) -> None:
    """/sources [word]: the articles newest first, a page at a time, with «Older ›» / «‹ Newer» buttons."""
    conversations = context.conversations
    language = _chat_language(update, context)
    try:
        page = await conversations.sources(" ".join(context.args or []))
    except InputError as error:
        await update.effective_message.reply_text(str(error))
        return
    await update.effective_message.reply_html(
        sources_telegram_html(page, language),
        reply_markup=_page_buttons(conversations, page, language),
        link_preview_options=NO_PREVIEW,
    )


async def sources_page(update: Update, context: BotContext) -> None:
    """«Older ›» / «‹ Newer» under a page of the archive: the same message shows the next page."""
    query, conversations = update.callback_query, context.conversations
    language = _chat_language(update, context)
    kind, number, term = context.matches[0].groups() if context.matches else ("", "1", "")
    if kind == "#":
        term = conversations.searches.get(term)
        if term is None:  # the bot restarted, or many searches came since
            await query.answer(reply("sources_expired", language), show_alert=True)
            return
    page = await conversations.sources(term, int(number))
    await query.answer()
    try:
        await query.edit_message_text(
            sources_telegram_html(page, language),
            parse_mode=ParseMode.HTML,
            reply_markup=_page_buttons(conversations, page, language),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:  # a second press on a page already shown ("not modified"), or a deleted message
        logger.info("A page of the archive was not shown: %s", error)


async def set_language(update: Update, context: BotContext) -> None:
    """/lang da|en|auto: force the answer language for this chat."""
    conversations, key = context.conversations, _chat_key(update.effective_chat.id)
    choice = context.args[0].lower() if context.args else ""
    language = conversations.language(key) or _user_language(update)
    if choice not in ("da", "en", "auto"):
        await update.effective_message.reply_text(reply("lang_usage", language))
        return
    conversations.set_language(key, choice)
    await update.effective_message.reply_text(
        reply("lang_set", conversations.language(key) or language, setting=choice)
    )


async def new_conversation(update: Update, context: BotContext) -> None:
    """/new: forget the previous question of this chat."""
    conversations, key = context.conversations, _chat_key(update.effective_chat.id)
    conversations.forget(key)
    await update.effective_message.reply_text(
        reply("new_conversation", conversations.language(key) or _user_language(update))
    )


async def brief_command(update: Update, context: BotContext) -> None:
    """/brief [topic or period | da | en]: 3–5 cited bullets on the newest articles, or those about
    a topic or of a period ("/brief Grønland", "/brief i går"); da or en alone choose the language (cached)."""
    conversations = context.conversations
    text = " ".join(context.args or [])
    choice = text.strip().lower()
    language = cast(Lang, choice) if choice in ("da", "en") else _chat_language(update, context)
    if choice in ("da", "en"):
        text = ""
    if not await _gatekeep(update, context, ""):
        return
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    briefing = await conversations.brief(language, text)
    for piece in split_message(brief_telegram_html(briefing)):
        await update.effective_message.reply_html(piece)


async def ask_command(update: Update, context: BotContext) -> None:
    """/ask question — the way to ask in groups (and it works in private too)."""
    question = " ".join(context.args or [])
    if not question.strip():
        await update.effective_message.reply_text(reply("ask_usage", _user_language(update)))
        return
    if await _gatekeep(update, context, question):
        await _send_answer(update.effective_message, context, question)


async def private_text(update: Update, context: BotContext) -> None:
    """In a private chat every text message is a question."""
    text = update.effective_message.text or ""
    if await _gatekeep(update, context, text):
        await _send_answer(update.effective_message, context, text)


async def group_text(update: Update, context: BotContext) -> None:
    """In groups, answer only when mentioned or when someone replies to the bot."""
    message = update.effective_message
    text = message.text or ""
    username = context.bot.username or ""
    mention = f"@{username}".lower()
    replied_to_bot = bool(
        message.reply_to_message
        and message.reply_to_message.from_user
        and message.reply_to_message.from_user.id == context.bot.id
    )
    if mention and mention in text.lower():
        text = " ".join(word for word in text.split() if word.lower() != mention)
    elif not replied_to_bot:
        return
    if await _gatekeep(update, context, text):
        await _send_answer(message, context, text)


async def non_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice: a short hint."""
    await update.effective_message.reply_text(reply("non_text", _user_language(update)))


async def show_quotes(update: Update, context: BotContext) -> None:
    """The "show quotes" button: the full quoted sentences with their sources."""
    query = update.callback_query
    answer = context.conversations.answers.get((query.data or "").removeprefix("quotes:"))
    await query.answer()
    if answer is None:
        await query.message.reply_text(reply("quotes_expired", _user_language(update)))
        return
    for piece in split_message(telegram_quotes_html(answer)):
        await query.message.reply_html(piece)


async def choose_story(update: Update, context: BotContext) -> None:
    """A story's button under a "Which story?" reply: the question answered from that story."""
    query = update.callback_query
    await query.answer()
    _, choice, number = (query.data or "").split(":", 2)
    if isinstance(query.message, Message) and await _gatekeep(update, context, number):
        await _send_answer(query.message, context, number, query.from_user, choice)


async def feedback(update: Update, context: BotContext) -> None:
    """👍 / 👎 under an answer: kept with it in the answer log; pressing again changes the vote."""
    query = update.callback_query
    _, direction, key = (query.data or "").split(":", 2)
    vote = 1 if direction == "up" else -1
    context.recorder.vote(key, "telegram", str(query.from_user.id), vote)
    await query.answer(reply("feedback_thanks", _user_language(update), vote="👍" if vote > 0 else "👎"))


async def admin_stats(update: Update, context: BotContext) -> None:
    """/stats (admins only): today's numbers from the answer log."""
    runtime = context.runtime
    if runtime is not None:
        stats = await asyncio.to_thread(runtime.today)
        await update.effective_message.reply_text(stats_text(stats, _user_language(update)))


async def admin_reload(update: Update, context: BotContext) -> None:
    """/reload (admins only): re-read the articles now, answering meanwhile."""
    runtime = context.runtime
    if runtime is not None:
        try:
            report = await runtime.update(context.conversations.run)
        except NewsbotError as error:  # the index is still being written, or the seeds folder is unusable
            await update.effective_message.reply_text(str(error))
            return
        await update.effective_message.reply_text(
            reply(
                "reloaded",
                _user_language(update),
                articles=len(runtime.answerer.index.articles),
                chunks=report.chunks,
                action=report.action,
            )
        )


async def not_admin(update: Update, context: BotContext) -> None:
    """/stats or /reload from anyone else: the help, as for any command the bot doesn't know."""
    user = update.effective_user
    logger.warning(
        "%s from user %s, who is not in NEWSBOT_ADMINS", update.effective_message.text, user.id if user else "?"
    )
    await help_command(update, context)


async def inline_query(update: Update, context: BotContext) -> None:
    """@botname question in any chat: the answer, with its sources, as an inline result."""
    query = update.inline_query
    text = query.query.strip()
    conversations = context.conversations
    if not text:
        await query.answer([], cache_time=5, is_personal=True)
        return
    try:
        text = conversations.check(text)
    except InputError:
        await query.answer([], cache_time=5)
        return
    if not await _gatekeep(update, context, text):
        await query.answer([], cache_time=5, is_personal=True)
        return
    asked = Asked("telegram", "inline", str(query.from_user.id), text)
    answer = await conversations.answer(f"inline:{query.from_user.id}", text, follow_up=False)
    result = InlineQueryResultArticle(
        id=uuid.uuid4().hex,
        title=text[:64],
        description=answer.answer[:120],
        input_message_content=InputTextMessageContent(_pieces(answer)[0], parse_mode=ParseMode.HTML),
    )
    await query.answer([result], cache_time=30)
    asked.reply_sent()
    context.recorder.answered(asked, answer)


def _gone(error: object) -> bool:
    """Telegram's answer when the message to reply to or edit was deleted meanwhile."""
    return isinstance(error, BadRequest) and any(phrase in error.message.lower() for phrase in GONE)


async def on_error(update: object, context: BotContext) -> None:
    """Log the traceback, then apologise to the user; the bot keeps running. A question deleted
    before its reply is only noted: there is no one left to apologise to."""
    if _gone(context.error):
        logger.warning("A reply was not sent, its message being gone: %s", context.error)
        return
    logger.error("Exception while handling an update", exc_info=context.error)
    context.recorder.failed("telegram")
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(reply("apology", _user_language(update)))
        except TelegramError:  # the apology itself failing must not loop
            logger.exception("Could not send the apology")


async def register_commands(application: Application) -> None:
    """setMyCommands in English (default) and Danish."""
    for language in ("en", "da"):
        commands = [
            BotCommand(*line.split("\t", 1)) for line in message("commands", language).splitlines() if line.strip()
        ]
        await application.bot.set_my_commands(commands, language_code=None if language == "en" else "da")


async def on_start(application: Application) -> None:
    """Register the commands, stop on SIGTERM or SIGINT within the shutdown budget (`stop`), and
    follow the archive while the bot runs (`ArchiveWatch`). A plain task rather than
    `Application.create_task`, whose tasks `stop()` would wait for forever."""
    await register_commands(application)
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, stop, application)
    watch: ArchiveWatch | None = application.bot_data.get("archive_watch")
    if watch is not None:
        application.bot_data["archive_task"] = asyncio.create_task(watch.run(), name="archive-watch")


def stop(application: Application) -> None:
    """Stop taking updates; the questions in flight and those already fetched go on for
    NEWSBOT_SHUTDOWN_SECONDS, and the rest are dropped (python-telegram-bot's own stop would wait
    for every one of them, however long the queue)."""
    if "draining" not in application.bot_data:
        budget = application.bot_data["conversations"].answerer.settings.shutdown_seconds
        application.bot_data["draining"] = asyncio.ensure_future(application.bot_data["in_flight"].drain(budget))
    application.stop_running()


async def on_stop(application: Application) -> None:
    for name in ("archive_task", "draining"):  # the drain has nothing left to do once the handlers are done
        task = application.bot_data.get(name)
        if task is not None:
            task.cancel()


def _api_base(settings: Settings) -> str:
    """The Bot API's base URL as PTB wants it (ending in /bot), given it with or without that part."""
    base = settings.telegram_api_base_url.rstrip("/")
    return base if base.endswith("/bot") else f"{base}/bot"


def _require_token(settings: Settings) -> None:
    if not settings.telegram_bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and export TELEGRAM_BOT_TOKEN=…")


def build_application(settings: Settings, conversations: Conversations) -> Application:
    """All wiring in one place."""
    _require_token(settings)
    base = _api_base(settings)
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(base)
        .base_file_url(base.removesuffix("/bot") + "/file/bot")
        .concurrent_updates(True)
        .rate_limiter(PacedRateLimiter(max_retries=3))
        .context_types(ContextTypes(context=BotContext))
        .post_init(on_start)
        .post_stop(on_stop)
        .build()
    )
    application.bot_data.update(conversations=conversations, in_flight=InFlight())
    application.add_handler(TypeHandler(Update, check_access), group=-1)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("sources", sources))
    application.add_handler(CommandHandler("lang", set_language))
    application.add_handler(CommandHandler("new", new_conversation))
    application.add_handler(CommandHandler("ask", ask_command))
    application.add_handler(CommandHandler("brief", brief_command))
    admins = filters.User(user_id=[int(a) for a in settings.admin_ids() if a.isdigit()])
    application.add_handler(CommandHandler("stats", admin_stats, filters=admins))
    application.add_handler(CommandHandler("reload", admin_reload, filters=admins))
    application.add_handler(CommandHandler(["stats", "reload"], not_admin))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, group_text))
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, non_text
        )
    )
    application.add_handler(CallbackQueryHandler(show_quotes, pattern=r"^quotes:"))
    application.add_handler(CallbackQueryHandler(feedback, pattern=r"^vote:(up|down):"))
    application.add_handler(CallbackQueryHandler(choose_story, pattern=r"^story:[0-9a-f]+:\d+$"))
    application.add_handler(CallbackQueryHandler(sources_page, pattern=r"^sources([:#])(\d+):(.*)$"))
    application.add_handler(InlineQueryHandler(inline_query))
    application.add_error_handler(on_error)
    return application


async def reach_bot_api(bot: Bot, url: str, attempts: int = STARTUP_ATTEMPTS) -> None:
    """Check the token and the connection before serving: retry a network failure with backoff,
    then give up with one line saying what to check."""
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            async with bot:  # initialize() asks getMe
                return
        except InvalidToken as error:
            raise ConfigError(
                f"The Bot API at {url} rejects TELEGRAM_BOT_TOKEN ({error.message}); check the token from @BotFather."
            ) from None
        except NetworkError as error:
            if attempt == attempts:
                raise ConfigError(
                    f"Can't reach the Telegram Bot API at {url} ({error.message}, {attempts} attempts); "
                    "check the network and TELEGRAM_API_BASE_URL."
                ) from None
            logger.warning(
                "The Telegram Bot API at %s can't be reached (%s); trying again in %.0f s.", url, error, delay
            )
            await asyncio.sleep(delay)
            delay = min(2 * delay, 30.0)


def run(settings: Settings, webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> None:
    """Start the bot with long polling, or webhook mode when `webhook_url` is given."""
    from bot.operations.runtime import start_runtime

    _require_token(settings)
    loop = asyncio.new_event_loop()  # left current: run_polling and run_webhook go on in it
    asyncio.set_event_loop(loop)
    # The token and the connection first: a typo shouldn't cost the wait for the index and model.
    loop.run_until_complete(
        reach_bot_api(Bot(settings.telegram_bot_token, base_url=_api_base(settings)), settings.telegram_api_base_url)
    )
    if webhook_url:  # PTB registers the webhook before it listens: a busy port must stop the start first
        check_port(listen, port)
    runtime = start_runtime(settings)
    if not settings.allowed_users.strip():
        logger.warning("NEWSBOT_ALLOWED_USERS is not set: everyone may use this bot (set it to * to say so).")
    conversations = open_conversations(settings, runtime.answerer, on_warm=runtime.readiness.warmed)
    runtime.watch_queue(lambda: conversations.waiting)
    application = build_application(settings, conversations)
    application.bot_data.update(
        recorder=runtime.recorder,
        runtime=runtime,
        archive_watch=ArchiveWatch(settings, partial(runtime.update, conversations.run)),
    )
    try:
        _serve(application, settings, webhook_url, listen, port)
    finally:  # PTB has finished the updates in flight: write what the answer log still holds
        runtime.close()


def _serve(application: Application, settings: Settings, webhook_url: str | None, listen: str, port: int) -> None:
    if webhook_url:
        secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        path = webhook_url.rstrip("/").rsplit("/", 1)[-1] if "/" in webhook_url.split("://", 1)[-1] else "telegram"
        application.run_webhook(
            listen=listen,
            port=port,
            url_path=path,
            webhook_url=webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            stop_signals=None,  # `on_start` installs `stop`
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None)
