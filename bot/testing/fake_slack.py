"""A small Slack Web API server for tests and benchmarks (aiohttp on 127.0.0.1), checking what
Slack checks, plus helpers that sign events and slash commands the way Slack does.

Web API at `base_url` (set SLACK_API_URL to it): auth.test, chat.postMessage, chat.update —
the bot token must match; `thread_ts` must name a message of that channel; Block Kit limits
hold (at most 50 blocks, section text at most 3000 characters, header 150, context elements 10,
buttons in an actions block 25). Slash-command and `block_actions` replies arrive at their
`response_url`, which it serves too, as Slack does: a reply posts a message in the channel
(ephemeral unless `response_type` is "in_channel"), and one with `replace_original` replaces the
message the response_url belongs to — the command's earlier reply, or the message whose button
was pressed. `shown()` is what such a message shows now.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
import urllib.request
from typing import Any

from aiohttp import web

from bot.testing.local_server import LocalServer

MAX_BLOCKS, MAX_SECTION_TEXT, MAX_HEADER_TEXT, MAX_CONTEXT_ELEMENTS = 50, 3000, 150, 10
MAX_ACTIONS, MAX_BUTTON_TEXT, MAX_BUTTON_VALUE = 25, 75, 2000


def block_kit_error(blocks: list[dict[str, Any]]) -> str:
    """'' when Slack would accept `blocks`; otherwise the reason, as Slack's `invalid_blocks` would say."""
    if len(blocks) > MAX_BLOCKS:
        return f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if not text and not block.get("fields"):
                return f"must provide text or fields [json-pointer:/blocks/{i}]"
            if len(text) > MAX_SECTION_TEXT:
                return f"must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:/blocks/{i}/text]"
        elif kind == "header":
            if len(block.get("text", {}).get("text", "")) > MAX_HEADER_TEXT:
                return f"must be less than {MAX_HEADER_TEXT + 1} characters [json-pointer:/blocks/{i}/text]"
        elif kind == "context":
            if not 1 <= len(block.get("elements", [])) <= MAX_CONTEXT_ELEMENTS:
                return f"must have 1 to {MAX_CONTEXT_ELEMENTS} elements [json-pointer:/blocks/{i}/elements]"
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= MAX_ACTIONS:
                return f"must have 1 to {MAX_ACTIONS} elements [json-pointer:/blocks/{i}/elements]"
            ids = [e.get("action_id") for e in elements]
            if len(set(ids)) != len(ids):
                return f"action_id must be unique [json-pointer:/blocks/{i}/elements]"
            for j, element in enumerate(elements):
                if len(element.get("text", {}).get("text", "")) > MAX_BUTTON_TEXT:
                    return f"must be less than {MAX_BUTTON_TEXT + 1} characters [json-pointer:/blocks/{i}/elements/{j}/text]"
                if len(element.get("value", "")) > MAX_BUTTON_VALUE:
                    return f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:/blocks/{i}/elements/{j}/value]"
        elif kind not in ("divider", "rich_text", "image"):
            return f"unknown block type {kind!r} [json-pointer:/blocks/{i}]"
    return ""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_signed(
    url: str,
    body: bytes,
    secret: str,
    content_type: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    bad_signature: bool = False,
) -> tuple[int, bytes]:
    """POST `body` to the bot as Slack does; returns (status, response body)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + "0" * 64 if bad_signature else signature(secret, stamp, body),
    }
    if retry_num is not None:
        headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_serving(url: str, timeout: float = 120.0) -> None:
    """Block until the app at `url` answers HTTP (an unsigned POST gets its 401)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            post_signed(url, b"{}", "not-the-secret", "application/json")
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing answers at {url}")


class FakeSlack(LocalServer):
    """Run with `start()`; make user messages with `user_message()`; build payloads with
    `mention_event()` / `slash_command()`; read what the bot did with `calls_to()`."""

    def __init__(self, token: str = "xoxb-test-token", team: str = "T0NEWS", bot_user: str = "UBOT") -> None:
        super().__init__()
        self.token = token
        self.team = team
        self.bot_user = bot_user
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.responses: dict[str, list[dict[str, Any]]] = {}  # response_url id -> payloads
        self.response_channels: dict[str, str] = {}  # response_url id -> the channel its replies go to
        self.response_messages: dict[str, tuple[str, str]] = {}  # response_url id -> (channel, ts) it replaces
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def routes(self, app: web.Application) -> None:
        app.router.add_route("POST", "/api/{method}", self._api)
        app.router.add_route("POST", "/response/{id}", self._response)

    # --- building what Slack sends ------------------------------------------------
    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def user_message(
        self, channel: str, text: str, user: str = "U0EDITOR", thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message a person posted (so replies in its thread are valid)."""
        message = {"type": "message", "user": user, "text": text, "ts": self.new_ts(), "channel": channel}
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            self.messages[(channel, message["ts"])] = message
        return message

    def mention_event(self, message: dict[str, Any]) -> bytes:
        """The Events API envelope of an app_mention for `message`."""
        event = {
            "type": "app_mention",
            "user": message["user"],
            "text": message["text"],
            "ts": message["ts"],
            "channel": message["channel"],
            "event_ts": message["ts"],
            **({"thread_ts": message["thread_ts"]} if "thread_ts" in message else {}),
        }
        envelope = {
            "token": "legacy",
            "team_id": self.team,
            "api_app_id": "A0NEWS",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team, "user_id": self.bot_user, "is_bot": True}],
        }
        return json.dumps(envelope).encode()

    def slash_command(
        self, command: str, text: str, channel: str = "C0NEWS", user: str = "U0EDITOR"
    ) -> tuple[bytes, str]:
        """The form body of a slash command, and its response_url id."""
        response_id = f"R{next(self._ids):06d}"
        form = {
            "token": "legacy",
            "team_id": self.team,
            "channel_id": channel,
            "channel_name": "newsroom",
            "user_id": user,
            "user_name": "editor",
            "command": command,
            "text": text,
            "api_app_id": "A0NEWS",
            "trigger_id": "1.2.3",
            "response_url": f"http://127.0.0.1:{self.port}/response/{response_id}",
        }
        self.response_channels[response_id] = channel
        return urllib.parse.urlencode(form).encode(), response_id

    def block_action(self, message: dict[str, Any], action_id: str, user: str = "U0EDITOR") -> tuple[bytes, str]:
        """The form body of a `block_actions` interaction — `user` pressing the button `action_id`
        of the bot's `message` — and its response_url id. As Slack sends it: `payload=<JSON>`."""
        button = next(
            element
            for block in message.get("blocks", [])
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("action_id") == action_id
        )
        response_id = f"R{next(self._ids):06d}"
        self.response_channels[response_id] = message["channel"]
        self.response_messages[response_id] = (message["channel"], message["ts"])
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "editor", "name": "editor", "team_id": self.team},
            "api_app_id": "A0NEWS",
            "token": "legacy",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message["channel"],
                "is_ephemeral": bool(message.get("ephemeral")),
            },
            "trigger_id": "1.2.3",
            "team": {"id": self.team, "domain": "newsroom"},
            "channel": {"id": message["channel"], "name": "newsroom"},
            "message": message,
            "response_url": f"http://127.0.0.1:{self.port}/response/{response_id}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": next(b.get("block_id", "") for b in message["blocks"] if b.get("type") == "actions"),
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), response_id

    def shown(self, response_id: str) -> dict[str, Any]:
        """The message a response_url's replies posted or replaced, as it is now."""
        return self.messages[self.response_messages[response_id]]

    def thread_replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.calls_to("chat.postMessage")
            if p.get("channel") == channel and p.get("thread_ts") == thread_ts
        ]

    # --- the Web API -----------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        params = dict(await request.post())
        for key in ("blocks", "attachments"):
            if isinstance(value := params.get(key), str):
                params[key] = json.loads(value)
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.record(method, params)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://newsroom.slack.com/",
                    "team": "Newsroom",
                    "user": "newsbot",
                    "team_id": self.team,
                    "user_id": self.bot_user,
                    "bot_id": "B0NEWS",
                    "is_enterprise_install": False,
                }
            )
        if method in ("chat.postMessage", "chat.update"):
            return web.json_response(self._message(method, params))
        return web.json_response({"ok": False, "error": "unknown_method"})

    def _message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        blocks = params.get("blocks") or []
        if not params.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        problem = block_kit_error(blocks)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        with self._lock:
            if method == "chat.update":
                original = self.messages.get((channel, params.get("ts", "")))
                if original is None:
                    return {"ok": False, "error": "message_not_found"}
                original.update(text=params.get("text", ""), blocks=blocks)
                return {"ok": True, "channel": channel, "ts": original["ts"], "text": original["text"]}
            thread_ts = params.get("thread_ts")
            if thread_ts and (channel, thread_ts) not in self.messages:
                return {"ok": False, "error": "thread_not_found"}
            ts = self.new_ts()
            message = {
                "type": "message",
                "user": self.bot_user,
                "bot_id": "B0NEWS",
                "text": params.get("text", ""),
                "blocks": blocks,
                "ts": ts,
                "channel": channel,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    async def _response(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.record("response_url", {**payload, "response_id": request.match_info["id"]})
        problem = block_kit_error(payload.get("blocks") or [])
        if problem:
            return web.Response(status=400, text="invalid_blocks")
        response_id = request.match_info["id"]
        with self._lock:
            self.responses.setdefault(response_id, []).append(payload)
            target = self.response_messages.get(response_id)
            if payload.get("replace_original") and target in self.messages:
                self.messages[target].update(text=payload.get("text", ""), blocks=payload.get("blocks") or [])
            elif response_id in self.response_channels:
                channel = self.response_channels[response_id]
                ts = self.new_ts()
                self.messages[(channel, ts)] = {
                    "type": "message",
                    "user": self.bot_user,
                    "text": payload.get("text", ""),
                    "blocks": payload.get("blocks") or [],
                    "ts": ts,
                    "channel": channel,
                    "ephemeral": payload.get("response_type") != "in_channel",
                }
                self.response_messages[response_id] = (channel, ts)
        return web.Response(text="ok")
