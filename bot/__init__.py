"""newsbot: grounded Danish/English answers about news articles, with citations."""

from bot.answering.chain import Answerer, Question
from bot.config import Settings
from bot.errors import NewsbotError
from bot.types import Answer, Citation

__all__ = ["Answer", "Answerer", "Citation", "NewsbotError", "Question", "Settings"]
