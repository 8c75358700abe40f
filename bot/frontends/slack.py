"""The Slack app (slack-bolt, HTTP mode at /slack/events): `/ask`, `/brief` and `/sources` slash
commands, and @mentions answered in the thread with Block Kit.

Bolt verifies every request's signature (a bad or stale one gets 401 and runs nothing) and,
as `process_before_response` is off, acknowledges first and answers after — inside Slack's
3 seconds however slow the answer. A retried event (X-Slack-Retry-Num) whose first delivery
we already took is acknowledged and dropped. Works against any Web API at SLACK_API_URL.

Every `text` the app sends is mrkdwn as much as the blocks are (Slack shows it in notifications
and where blocks can't be shown), so whatever users or articles wrote goes through `slack_escape`
there too: a `<!channel>` typed or quoted never notifies anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from typing import Any, cast

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.answering.browse import Page
from bot.config import Settings
from bot.errors import ConfigError, InputError, NewsbotError
from bot.frontends.archive_watch import ArchiveWatch
from bot.frontends.conversation import Conversations, InFlight, choice_token, open_conversations
from bot.frontends.listening import check_port, port_refusal
from bot.frontends.render import (
    slack_brief_blocks,
    slack_escape,
    slack_reply_blocks,
    slack_sources_blocks,
    sources_header,
    story_button,
)
from bot.lang import detect_language
from bot.operations.recorder import NO_RECORDER, Asked, Recorder
from bot.operations.runtime import Runtime
from bot.operations.stats import stats_text
from bot.texts import help_text, message, reply
from bot.types import Answer, Lang

logger = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# Slack caps a message at 40,000 characters; an event carrying one, with its blocks, stays far below.
MAX_BODY_BYTES = 1 << 20
UPDATE_INTERVAL = 1.1  # seconds between updates of one message: Slack allows about one a second per channel


class Pacer:
    """At most one update per `interval` in each channel, counted from its last post or update."""

    def __init__(self, interval: float = UPDATE_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def posted(self, channel: str) -> None:
        self._last[channel] = time.monotonic()

    async def wait(self, channel: str) -> None:
        """Return when the channel may be updated again (and count that update)."""
        async with self._locks.setdefault(channel, asyncio.Lock()):
            await asyncio.sleep(max(0.0, self._last.get(channel, 0.0) + self.interval - time.monotonic()))
            self._last[channel] = time.monotonic()


class SeenEvents:
    """The last event ids taken, so a retried delivery isn't answered twice."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


def _conversations(context: AsyncBoltContext) -> Conversations:
    return context["conversations"]


def _pacer(context: AsyncBoltContext) -> Pacer:
    return context["pacer"]


def _in_flight(context: AsyncBoltContext) -> InFlight:
    return context["in_flight"]


def _recorder(context: AsyncBoltContext) -> Recorder:
    return context.get("recorder") or NO_RECORDER


def _with_buttons(blocks: list[dict], answer: Answer, answer_id: str, key: str) -> list[dict]:
    """An answer's blocks and, when it quotes, 👍 / 👎 buttons naming it (a `block_actions` press);
    under a "Which story?" reply, a button per story, naming the conversation `key` it continues."""
    if answer.stories:
        stories = [
            {
                "type": "button",
                "action_id": f"story_{n}",
                "value": f"{n}|{choice_token(answer)}|{key}",
                "text": {"type": "plain_text", "text": story_button(n, story)},
            }
            for n, story in enumerate(answer.stories, start=1)
        ]
        return [*blocks, {"type": "actions", "block_id": "stories", "elements": stories}]
    if not answer.citations:
        return blocks
    buttons = [
        {
            "type": "button",
            "action_id": f"vote_{direction}",
            "value": answer_id,
            "text": {"type": "plain_text", "text": emoji},
        }
        for direction, emoji in (("up", "👍"), ("down", "👎"))
    ]
    return [*blocks, {"type": "actions", "block_id": "feedback", "elements": buttons}]


async def _allowed(
    conversations: Conversations, user: str, language: Lang, send: Callable[[str], Awaitable[Any]]
) -> bool:
    """The per-user rate limit, which questions and briefings count against alike; says so once
    when someone hits it."""
    allowed, warn = conversations.rate.allow(user)
    if not allowed and warn:
        await send(reply("rate_limited", language, limit=conversations.rate.limit))
    return allowed


# --- listeners -------------------------------------------------------------------
async def ask_command(
    ack: Callable[..., Awaitable[None]], command: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """/ask question — one-shot (no follow-up context), answered in the channel."""
    await ack()
    conversations = _conversations(context)
    text = command.get("text", "")
    language = detect_language(text)
    if not text.strip():
        await respond(text=reply("ask_usage", language), response_type="ephemeral")
        return
    asked = Asked("slack", "command", command["user_id"], text)
    try:
        question = conversations.check(text)
    except InputError as error:
        await respond(text=slack_escape(str(error)), response_type="ephemeral")
        _recorder(context).refused(asked, "refused", language, str(error))
        return
    if not await _allowed(
        conversations, command["user_id"], language, lambda t: respond(text=t, response_type="ephemeral")
    ):
        _recorder(context).refused(asked, "rate-limited", language, "over the rate limit")
        return
    asker = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"<@{command['user_id']}>: {slack_escape(question)}"}],
    }
    pacer, channel = _pacer(context), command.get("channel_id", "")
    shown: list[dict] | None = None
    first: Answer | None = None
    last: Answer | None = None
    async with _in_flight(context).track():
        key = f"slack-command:{command['user_id']}"
        async for view in conversations.replies(key, question, follow_up=False):
            if view.stage == "draft":  # a response_url takes five messages at most: the first and the final one
                continue
            blocks = _with_buttons([asker, *slack_reply_blocks(view)], view.answer, asked.id, key)
            if shown is None:
                await respond(text=slack_escape(view.answer.answer), blocks=blocks, response_type="in_channel")
                pacer.posted(channel)
                asked.reply_sent()
                first = view.answer
            elif blocks != shown:
                await pacer.wait(channel)
                await respond(
                    text=slack_escape(view.answer.answer),
                    blocks=blocks,
                    response_type="in_channel",
                    replace_original=True,
                )
            shown, last = blocks, view.answer
        if first is not None and last is not None:
            _recorder(context).answered(asked, first, last if last is not first else None)


async def brief_command(
    ack: Callable[..., Awaitable[None]], command: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """/brief [topic or period | da | en] — 3–5 cited bullets on the newest articles, or those about
    a topic or of a period; in the language of the topic (English by default), or as asked with da or en."""
    await ack()
    conversations = _conversations(context)
    text = " ".join(command.get("text", "").split())
    choice = text.lower()
    language = cast(Lang, choice) if choice in ("da", "en") else detect_language(text, default="en")
    if not await _allowed(
        conversations, command["user_id"], language, lambda t: respond(text=t, response_type="ephemeral")
    ):
        asked = Asked("slack", "command", command["user_id"], text)
        _recorder(context).refused(asked, "rate-limited", language, "over the rate limit")
        return
    briefing = await conversations.brief(language, "" if choice in ("da", "en") else text)
    await respond(text=slack_escape(briefing.header), blocks=slack_brief_blocks(briefing), response_type="in_channel")


def _sources_blocks(page: Page, language: Lang) -> list[dict]:
    """A page of the archive, with «‹ Newer» / «Older ›» buttons naming the page and term they lead to."""
    blocks = slack_sources_blocks(page, language)
    buttons = [
        {
            "type": "button",
            "action_id": f"sources_{label}",
            "value": f"{number}:{language}:{page.term}",
            "text": {"type": "plain_text", "text": message(label, language)},
        }
        for label, number, shown in (("newer", page.number - 1, page.newer), ("older", page.number + 1, page.older))
        if shown
    ]
    return [*blocks, {"type": "actions", "block_id": "sources", "elements": buttons}] if buttons else blocks


async def sources_command(
    ack: Callable[..., Awaitable[None]], command: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """/sources [word] — the articles newest first, a page at a time, to the asker alone."""
    await ack()
    term = " ".join(command.get("text", "").split())
    language = detect_language(term, default="en")
    try:
        page = await _conversations(context).sources(term)
    except InputError as error:
        await respond(text=slack_escape(str(error)), response_type="ephemeral")
        return
    await respond(
        text=slack_escape(sources_header(page, language)),
        blocks=_sources_blocks(page, language),
        response_type="ephemeral",
    )


async def sources_page(
    ack: Callable[..., Awaitable[None]], body: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """«Older ›» / «‹ Newer» under a page of the archive (`block_actions`): the page replaces the message."""
    await ack()
    number, language, term = body["actions"][0]["value"].split(":", 2)
    page = await _conversations(context).sources(term, int(number))
    lang: Lang = "da" if language == "da" else "en"
    await respond(
        text=slack_escape(sources_header(page, lang)), blocks=_sources_blocks(page, lang), replace_original=True
    )


async def app_mention(event: dict, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """@newsbot question — answered in the thread; the thread's earlier questions give context."""
    conversations = _conversations(context)
    channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]
    text = " ".join(MENTION.sub(" ", event.get("text", "")).split())
    language = detect_language(text)

    async def send(message: str) -> Any:  # the help names headlines; an error may quote the question
        return await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=slack_escape(message))

    if not text:
        await send(help_text("slack", language, conversations.articles_summary()))
        return
    asked = Asked("slack", "thread", event.get("user", ""), text)
    try:
        question = conversations.check(text)
    except InputError as error:
        await send(str(error))
        _recorder(context).refused(asked, "refused", language, str(error))
        return
    if not await _allowed(conversations, event.get("user", ""), language, send):
        _recorder(context).refused(asked, "rate-limited", language, "over the rate limit")
        return
    async with _in_flight(context).track():
        await _post_reply(
            client, conversations, _pacer(context), channel, thread_ts, question, asked, _recorder(context)
        )


async def _post_reply(
    client: AsyncWebClient,
    conversations: Conversations,
    pacer: Pacer,
    channel: str,
    thread_ts: str,
    question: str,
    asked: Asked,
    recorder: Recorder,
    key: str = "",
    choice: str | None = None,
) -> None:
    """The answer in the thread, updated (at most once a second per channel, never to the same
    blocks) as a fuller answer is written; then recorded in the answer log. `key` names the
    conversation it continues (by default the thread's); `choice`, the "Which story?" reply a
    story's button was pressed under."""
    posted, shown = None, None
    first: Answer | None = None
    last: Answer | None = None
    key = key or f"slack:{channel}:{thread_ts}"
    async for view in conversations.replies(key, question, choice=choice):
        blocks = _with_buttons(slack_reply_blocks(view), view.answer, asked.id, key)
        if posted is None:
            posted = await client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=slack_escape(view.answer.answer), blocks=blocks
            )
            pacer.posted(channel)
            asked.reply_sent()
            first = view.answer
        elif blocks != shown:
            await pacer.wait(channel)
            await client.chat_update(
                channel=channel, ts=posted["ts"], text=slack_escape(view.answer.answer), blocks=blocks
            )
        shown, last = blocks, view.answer
    if first is not None and last is not None:
        recorder.answered(asked, first, last if last is not first else None)


async def choose_story(
    ack: Callable[..., Awaitable[None]], body: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """A story's button under a "Which story?" reply (`block_actions`): the question answered from
    that story, in the reply's thread."""
    await ack()
    number, _, rest = body["actions"][0]["value"].partition("|")
    choice, _, key = rest.partition("|")
    container, message = body.get("container") or {}, body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
    thread_ts = (
        message.get("thread_ts") or container.get("thread_ts") or message.get("ts") or container.get("message_ts", "")
    )
    user = (body.get("user") or {}).get("id", "")
    conversations = _conversations(context)
    asked = Asked("slack", "thread", user, number)

    async def send(text: str) -> Any:
        return await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=slack_escape(text))

    if not await _allowed(conversations, user, conversations.language(key) or "en", send):
        _recorder(context).refused(asked, "rate-limited", conversations.language(key) or "en", "over the rate limit")
        return
    async with _in_flight(context).track():
        await _post_reply(
            client, conversations, _pacer(context), channel, thread_ts, number, asked, _recorder(context), key, choice
        )


async def vote(
    ack: Callable[..., Awaitable[None]], body: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """👍 / 👎 under an answer (`block_actions`): kept with it in the answer log; pressing again
    changes the vote. Acknowledged to the presser alone."""
    await ack()
    action = body["actions"][0]
    up = action["action_id"] == "vote_up"
    _recorder(context).vote(action["value"], "slack", body["user"]["id"], 1 if up else -1)
    language = detect_language(body.get("message", {}).get("text", ""), default="en")
    await respond(
        text=reply("feedback_thanks", language, vote="👍" if up else "👎"),
        response_type="ephemeral",
        replace_original=False,
    )


async def admin_command(
    ack: Callable[..., Awaitable[None]], command: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """/stats and /reload for NEWSBOT_ADMINS (the help for anyone else; the attempt is logged)."""
    await ack()
    runtime: Runtime | None = context.get("runtime")
    language = detect_language(command.get("text", ""), default="en")
    if runtime is None or command["user_id"] not in runtime.settings.admin_ids():
        logger.warning("%s from Slack user %s, who is not in NEWSBOT_ADMINS", command["command"], command["user_id"])
        help_shown = help_text("slack", language, _conversations(context).articles_summary())
        await respond(text=slack_escape(help_shown), response_type="ephemeral")
        return
    if command["command"] == "/stats":
        stats = await asyncio.to_thread(runtime.today)
        await respond(text=slack_escape(stats_text(stats, language)), response_type="ephemeral")
        return
    try:
        report = await runtime.update(_conversations(context).run)
    except NewsbotError as error:  # the index is still being written, or the seeds folder is unusable
        await respond(text=slack_escape(str(error)), response_type="ephemeral")
        return
    articles = len(runtime.answerer.index.articles)
    await respond(
        text=reply("reloaded", language, articles=articles, chunks=report.chunks, action=report.action),
        response_type="ephemeral",
    )


async def other_message(event: dict) -> None:
    """Plain channel messages aren't questions; only mentions and commands are."""


async def on_error(error: Exception, body: dict, context: AsyncBoltContext) -> None:
    logger.error("Exception while handling a Slack request", exc_info=error)
    _recorder(context).failed("slack")


# --- wiring ----------------------------------------------------------------------
def _require_credentials(settings: Settings) -> None:
    if not settings.slack_bot_token or not settings.slack_signing_secret:
        raise ConfigError("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set (from your Slack app's settings).")


def build_app(
    settings: Settings,
    conversations: Conversations,
    runtime: Runtime | None = None,
    in_flight: InFlight | None = None,
) -> AsyncApp:
    """All wiring in one place."""
    _require_credentials(settings)
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    app = AsyncApp(signing_secret=settings.slack_signing_secret, client=client)  # the client carries the token
    seen, pacer, in_flight = SeenEvents(), Pacer(), in_flight or InFlight()

    async def share_state(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["conversations"] = conversations
        context["pacer"] = pacer
        context["in_flight"] = in_flight
        if runtime is not None:
            context.update(recorder=runtime.recorder, runtime=runtime)
        await next()

    async def drop_retried_events(
        req: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        if event_id and not seen.first_time(event_id):
            logger.info(
                "Dropping a retried delivery of %s (X-Slack-Retry-Num %s)",
                event_id,
                req.headers.get("x-slack-retry-num"),
            )
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        return await next()

    allowed = settings.allowed_slack_users()

    async def refuse_outsiders(
        req: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        user = req.context.user_id
        if allowed is None or user is None or user in allowed:
            return await next()
        logger.warning("Slack user %s is not in NEWSBOT_ALLOWED_USERS", user)
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("command"):  # the response to a slash command is shown to its user alone
            language = detect_language(str(body.get("text", "")), default="en")
            return BoltResponse(status=200, body=slack_escape(reply("not_allowed", language, user_id=user)))
        return BoltResponse(status=200, body="")  # a mention or a button: nothing to show in the channel

    app.middleware(drop_retried_events)
    app.middleware(refuse_outsiders)
    app.middleware(share_state)
    app.command("/ask")(ask_command)
    app.command("/brief")(brief_command)
    app.command("/sources")(sources_command)
    app.command("/stats")(admin_command)
    app.command("/reload")(admin_command)
    app.action(re.compile(r"^vote_(up|down)$"))(vote)
    app.action(re.compile(r"^story_\d+$"))(choose_story)
    app.action(re.compile(r"^sources_(newer|older)$"))(sources_page)
    app.event("app_mention")(app_mention)
    app.event("message")(other_message)
    app.error(on_error)
    return app


def build_web_app(app: AsyncApp, signing_secret: str) -> web.Application:
    """The HTTP side: POST /slack/events on aiohttp, the request's signature checked on its raw
    bytes before anything is parsed, and bodies over MAX_BODY_BYTES refused (413) unread."""
    verifier = SignatureVerifier(signing_secret)

    def signed(body: bytes, headers: Mapping[str, str]) -> bool:
        try:
            return verifier.is_valid_request(body, headers)
        except ValueError:  # a timestamp header that isn't a number
            return False

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        if not signed(body, request.headers):
            return web.Response(status=401, text="invalid signature")
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except (ValueError, TypeError, KeyError, AttributeError):  # signed, yet not a Slack payload
            logger.warning("A signed Slack request whose body isn't a Slack payload; answered 400.")
            return web.Response(status=400, text="not a Slack payload")
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.add_routes([web.post("/slack/events", events)])
    return web_app


def follow_archive(web_app: web.Application, watch: ArchiveWatch) -> None:
    """Run `watch` while the web application serves."""

    async def watching(web_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(watch.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    web_app.cleanup_ctx.append(watching)


def run(settings: Settings, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Serve the app over HTTP at /slack/events until stopped (SIGINT or SIGTERM)."""
    from bot.operations.runtime import start_runtime

    _require_credentials(settings)
    # The token and the port first: a typo shouldn't cost the wait for the index and model.
    asyncio.run(check_token(settings))
    check_port(host, port)
    runtime = start_runtime(settings)
    conversations = open_conversations(settings, runtime.answerer, on_warm=runtime.readiness.warmed)
    runtime.watch_queue(lambda: conversations.waiting)
    in_flight = InFlight()
    app = build_app(settings, conversations, runtime, in_flight)
    web_app = build_web_app(app, settings.slack_signing_secret)
    follow_archive(web_app, ArchiveWatch(settings, partial(runtime.update, conversations.run)))

    async def drain(web_app: web.Application) -> None:  # SIGTERM: the answers being written go out first
        await in_flight.drain(settings.shutdown_seconds)

    web_app.on_shutdown.append(drain)
    logger.info("Slack app listening on http://%s:%d/slack/events", host, port)
    try:
        web.run_app(web_app, host=host, port=port, print=None)
    except OSError as error:  # taken between the check and the start
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise port_refusal(host, port, error) from error
    finally:  # the web application has finished the requests in flight: write what the answer log holds
        runtime.close()


async def check_token(settings: Settings) -> None:
    """Ask Slack who the token belongs to (auth.test), so a wrong token stops the start with one line."""
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        await client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "an error")
        raise ConfigError(
            f"Slack rejects SLACK_BOT_TOKEN ({code}); copy the Bot User OAuth Token (xoxb-…) "
            "from your Slack app's OAuth & Permissions page."
        ) from None
    except (OSError, aiohttp.ClientError) as error:
        raise ConfigError(
            f"Can't reach the Slack API at {settings.slack_api_url} ({error}); check the network and SLACK_API_URL."
        ) from None
