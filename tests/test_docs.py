"""The docs hold: every `newsbot …` command line and every NEWSBOT_* variable that README.md and
docs/ name exists (the CLI and the settings model are the source), so a renamed option can't leave
the docs behind."""

from __future__ import annotations

import re
import shlex

import click
import pytest

from bot.cli import main
from bot.config import Settings
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Variables the docs name that are not newsbot's settings: the model server's, read by its unit.
NOT_SETTINGS = {"NEWSBOT_LLM_MODEL_FILE"}


def _code(text: str) -> list[str]:
    """Code spans and the lines of code blocks."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.DOTALL)
    rest = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines()] + re.findall(r"`([^`\n]+)`", rest)


def _command_lines() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for code in _code(path.read_text(encoding="utf-8")):
            for match in re.finditer(r"(?:^|[;&|(]\s*|\s)newsbot((?:\s+[^\s;&|)#]+)*)", code):
                found.append((path.name, "newsbot" + match.group(1)))
    return found


def _problem(line: str) -> str | None:
    """What is wrong with a documented command line, or None."""
    try:
        words = shlex.split(line, comments=True)[1:]
    except ValueError:
        words = line.split()[1:]
    command: click.Command = main
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        if words[0] in ("…", "...", "COMMAND"):
            return None
        sub = command.commands.get(words[0])
        if sub is None:
            return f"no command {words[0]!r}"
        command, words = sub, words[1:]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for word in (w.strip("[]") for w in words):  # "[--page N]": an optional part, as usage lines write it
        if word.startswith("--") and word.split("=", 1)[0] not in options:
            return f"{command.name} has no option {word.split('=', 1)[0]}"
    return None


def test_the_docs_name_commands_and_the_check_catches_a_misspelt_one():
    assert len(_command_lines()) > 40
    assert _problem("newsbot eval --corpus tests/corpus --featurez") == "eval has no option --featurez"
    assert _problem("newsbot feedback exprt review.jsonl") == "no command 'exprt'"
    assert _problem("newsbot sources [TERM] [--pages N]") == "sources has no option --pages"


@pytest.mark.parametrize("where,line", _command_lines(), ids=lambda value: str(value)[:60])
def test_every_documented_command_line_exists(where, line):
    assert _problem(line) is None, f"{where}: {line}: {_problem(line)}"


def test_every_documented_setting_exists():
    known = {f"NEWSBOT_{name.upper()}" for name in Settings.model_fields}
    known |= {str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias}
    named = {(path.name, name) for path in DOCS for name in re.findall(r"\bNEWSBOT_[A-Z_]*[A-Z]", path.read_text())}
    assert sorted((where, name) for where, name in named if name not in known | NOT_SETTINGS) == []
