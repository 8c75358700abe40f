"""Prompt templates and reply texts (installed as `bot.prompts`); see bot/texts.py."""
