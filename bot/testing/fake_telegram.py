"""A small Bot API server for tests and benchmarks (aiohttp on 127.0.0.1, port 0), validating like Telegram.

It implements what python-telegram-bot calls in polling and webhook mode, records every call,
checks the 4096-character limit (UTF-16 units), HTML entities, buttons' callback_data (1–64
bytes), and replies to messages that exist, and answers 429 with retry_after when a test asks for it. editMessageText behaves as
Telegram's: an edit that changes neither text nor buttons is refused ("message is not
modified"), and an edit without `reply_markup` removes the message's buttons. Refused calls are
kept in `refused`, the times of accepted edits per chat in `edit_times`.
"""

from __future__ import annotations

import asyncio
import json
import time
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from bot.frontends.render import utf16_length
from bot.testing.local_server import LocalServer

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
}
JSON_FIELDS = {
    "reply_parameters",
    "reply_markup",
    "results",
    "commands",
    "entities",
    "allowed_updates",
    "link_preview_options",
}


class _HTMLCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error = ""

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.error = f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.error = f'Unmatched end tag "{tag}"'


def html_error(text: str) -> str:
    """'' when Telegram would accept `text` in HTML mode."""
    checker = _HTMLCheck()
    checker.feed(text)
    checker.close()
    if checker.error:
        return checker.error
    if checker.stack:
        return f'Unclosed tag "{checker.stack[-1]}"'
    for index, char in enumerate(text):  # a bare & that isn't an entity
        if char == "&" and not any(text.startswith(e, index) for e in ("&lt;", "&gt;", "&amp;", "&quot;", "&#")):
            return "Bare & in text"
    return ""


class FakeTelegram(LocalServer):
    """Run with `start()`; push updates with `push()`; wait on `wait_for()`."""

    def __init__(self, token: str = "123:TEST", bot_username: str = "newsbot_test_bot") -> None:
        super().__init__()
        self.token = token
        self.bot = {"id": 999, "is_bot": True, "first_name": "Newsbot", "username": bot_username}
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.fail_next: dict[str, int] = {}  # method -> how many calls get a 429
        self.refuse_next: dict[str, str] = {}  # method -> the description of one 400 Bad Request
        self.next_update_id = 1
        self.next_message_id = 1000
        self.refused: list[tuple[str, str]] = []  # (method, description) of every call answered with an error
        self.edit_times: dict[int, list[float]] = {}  # chat id -> time.monotonic() of each accepted edit
        self.open_queries: set[str] = set()  # callback queries pressed and not yet answered

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def routes(self, app: web.Application) -> None:
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)

    def message(
        self,
        text: str | None,
        *,
        chat_id: int = 1,
        user_id: int = 42,
        chat_type: str = "private",
        language_code: str = "en",
        reply_to: dict | None = None,
        entities: list | None = None,
        extra: dict | None = None,
    ) -> dict[str, Any]:
        """A user message as Telegram would send it (it also exists for replies)."""
        with self._lock:
            self.next_message_id += 1
            message_id = self.next_message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {
                "id": chat_id,
                "type": chat_type,
                **({"title": "Newsroom"} if chat_type != "private" else {"first_name": "Rita"}),
            },
            "from": {"id": user_id, "is_bot": False, "first_name": "Rita", "language_code": language_code},
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if entities is not None:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(extra or {})
        self.messages[(chat_id, message_id)] = message
        return message

    def push(self, payload: dict[str, Any], kind: str = "message") -> dict[str, Any]:
        with self._lock:
            if kind == "callback_query":
                self.open_queries.add(payload["id"])
            update = {"update_id": self.next_update_id, kind: payload}
            self.next_update_id += 1
            self.updates.append(update)
        return update

    def press(self, sent: dict[str, Any], callback_data: str, user_id: int = 42) -> str:
        """`user_id` pressing the inline button with `callback_data` under the bot's message `sent`
        (a recorded sendMessage call): a callback_query update, as Telegram delivers it. Returns its id,
        which the bot must answer (answerCallbackQuery) once."""
        chat_id = int(sent["chat_id"])
        stored = next(
            m for (c, _), m in reversed(self.messages.items()) if c == chat_id and m.get("text") == sent["text"]
        )
        buttons = [b for row in stored.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if callback_data not in [b.get("callback_data") for b in buttons]:
            raise AssertionError(f"no button {callback_data!r} under that message: {buttons}")
        query_id = str(4_000_000 + self.next_update_id)
        self.push(
            {
                "id": query_id,
                "from": {"id": user_id, "is_bot": False, "first_name": "Rita", "language_code": "en"},
                "message": stored,
                "chat_instance": str(chat_id),
                "data": callback_data,
            },
            kind="callback_query",
        )
        return query_id

    # --- the Bot API -------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            value = str(value)
            params[key] = json.loads(value) if key in JSON_FIELDS else value
        return params

    def _error(self, code: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        if method != "getUpdates":
            self.record(method, params)
        if description := self.refuse_next.pop(method, ""):
            return self._error(400, description)
        if self.fail_next.get(method):
            self.fail_next[method] -= 1
            return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        response = await handler(params)
        if response.status != 200:
            self.refused.append((method, json.loads(response.body)["description"]))
        return response

    async def _getMe(self, params):
        return web.json_response({"ok": True, "result": self.bot})

    async def _getUpdates(self, params):
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + min(timeout, 2.0)
        while True:
            with self._lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return web.json_response({"ok": True, "result": ready})
            await asyncio.sleep(0.02)

    def _check_text(self, params) -> str:
        text = params.get("text", "")
        if not text.strip():
            return "Bad Request: message text is empty"
        if utf16_length(text) > 4096:
            return "Bad Request: message is too long"
        if params.get("parse_mode") == "HTML":
            error = html_error(text)
            if error:
                return f"Bad Request: can't parse entities: {error}"
        return ""

    def _check_markup(self, params) -> str:
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    return "Bad Request: BUTTON_DATA_INVALID"
        return ""

    def _store(self, chat_id: int, text: str, reply_markup=None) -> dict[str, Any]:
        with self._lock:
            self.next_message_id += 1
            message = {
                "message_id": self.next_message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self.bot,
                "text": text,
            }
            if reply_markup:
                message["reply_markup"] = reply_markup
            self.messages[(chat_id, self.next_message_id)] = message
        return message

    async def _sendMessage(self, params):
        error = self._check_text(params) or self._check_markup(params)
        if error:
            return self._error(400, error)
        chat_id = int(params["chat_id"])
        reply = params.get("reply_parameters")
        if reply and (chat_id, int(reply["message_id"])) not in self.messages:
            return self._error(400, "Bad Request: message to be replied not found")
        return web.json_response(
            {"ok": True, "result": self._store(chat_id, params["text"], params.get("reply_markup"))}
        )

    async def _answerCallbackQuery(self, params):
        query_id = str(params.get("callback_query_id", ""))
        with self._lock:
            if query_id not in self.open_queries:
                return self._error(
                    400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
                )
            self.open_queries.discard(query_id)
        if len(params.get("text", "")) > 200:
            return self._error(400, "Bad Request: MESSAGE_TOO_LONG")
        return web.json_response({"ok": True, "result": True})

    async def _editMessageText(self, params):
        error = self._check_text(params) or self._check_markup(params)
        if error:
            return self._error(400, error)
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            return self._error(400, "Bad Request: message to edit not found")
        message = self.messages[key]
        markup = params.get("reply_markup")
        if message["text"] == params["text"] and message.get("reply_markup") == markup:
            return self._error(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        message["text"] = params["text"]
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)  # as on Telegram: an edit without buttons removes them
        self.edit_times.setdefault(key[0], []).append(time.monotonic())
        return web.json_response({"ok": True, "result": message})
