"""The bots' log lines: text or JSON lines (NEWSBOT_LOG_FORMAT), and never a secret.

Every line passes through `RedactingFormatter` after it is formatted, tracebacks included, so a
bot token in a failed request's URL or a signing secret in an exception's message comes out as
`[secret]`. Uncaught exceptions are logged through the same handlers. A text line can't be forged
by what users send (questions, commands, button data): control characters and line breaks in a
message come out escaped (`\\n`), and a traceback's lines are indented under their record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from bot.texts import one_line

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[secret]"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the record's `fields`, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        # json escapes control characters; U+2028 and U+2029 too, which some readers take for line ends
        text = json.dumps(line, ensure_ascii=False, default=str)
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, every record starting one line of its own: the message on that line, whatever
    it quotes, and the lines of a traceback indented (none begins like a record)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return one_line(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + one_line(line) for line in text.split("\n"))


class Redactor:
    """Replaces every secret in a text, as written and URL-encoded, whatever its case."""

    def __init__(self, secrets: list[str]) -> None:
        forms = {form for secret in secrets for form in (secret, urllib.parse.quote(secret, safe=""))}
        # Case-insensitive: libraries lower-case error descriptions (PTB does), URLs and all.
        alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        self.pattern = re.compile(alternatives, re.IGNORECASE) if alternatives else None

    def __call__(self, text: str) -> str:
        return self.pattern.sub(REDACTED, text) if self.pattern else text


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts every secret."""

    def __init__(self, inner: logging.Formatter, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


def configure_logging(log_format: str, secrets: list[str], level: int = logging.INFO) -> None:
    """Log at `level` to stderr in `log_format` ("text" or "json"), with `secrets` redacted."""
    inner = JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(RedactingFormatter(inner, secrets))
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request, with the token's URL
    logging.captureWarnings(True)

    def log_uncaught(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        logging.getLogger("newsbot").critical("Uncaught exception", exc_info=(kind, error, traceback))

    def log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = log_uncaught
    threading.excepthook = log_uncaught_in_thread
