"""Model prompts (installed as `bot.prompts`); see bot/texts.py."""
