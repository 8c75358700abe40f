"""Newsbot's messages for users, one file per message and language (`texts.reply`)."""
