"""The error handler: an exception while answering gives the user an apology and the bot keeps going."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot.config import Settings
from bot.frontends.conversation import Conversations, RateLimiter
from bot.frontends.history import History
from bot.frontends.telegram import build_application
from bot.testing.fake_telegram import FakeTelegram


class ExplodingAnswerer:
    """Stands in for the chain and fails the first question only."""

    def __init__(self, real) -> None:
        self.real = real
        self.settings = real.settings
        self.index = real.index
        self.composer = real.composer
        self.failures = 1

    def __getattr__(self, name: str):  # everything else is the real chain's
        return getattr(self.real, name)

    def answer(self, question):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("boom")
        return self.real.answer(question)


@pytest.mark.filterwarnings("ignore")
def test_an_exception_while_answering_apologises_and_the_next_question_is_answered(answerer, tmp_path):
    server = FakeTelegram().start()
    try:
        settings = Settings(telegram_bot_token=server.token, telegram_api_base_url=server.base_url, _env_file=None)
        history = History(tmp_path / "history.sqlite3")
        application = build_application(
            settings, Conversations(ExplodingAnswerer(answerer), None, RateLimiter(100), history)
        )

        async def scenario() -> None:
            async with application:
                for text in ("Who sent troops?", "Hvornår faldt regeringen?"):
                    payload = server.message(text)
                    await application.process_update(
                        Update.de_json({"update_id": 1, "message": payload}, application.bot)
                    )

        asyncio.run(scenario())
        texts = [p["text"] for p in server.calls_to("sendMessage")]
        assert texts[0].startswith("Sorry, something went wrong")
        assert "Onsdag" in texts[1]
    finally:
        server.stop()
