"""Plant one-line bugs a user would notice, one at a time, and check that a test catches each (by hand, not in CI).

    python scripts/mutations.py              # every mutation
    python scripts/mutations.py sha-ignored  # some, by name
    python scripts/mutations.py --list

The repository's files (`git ls-files`, plus untracked files that are not ignored: the working
tree as the tests see it) are copied to a temporary folder. The chosen tests first run there
unchanged and must pass. Then, for each mutation, its exact old text is replaced by the new
text in the copy, its few test files run (`python -m pytest -q -x <tests> -m "not slow"`, cwd
and PYTHONPATH the copy), and the file is restored. Prints which test caught which bug; exits 1
if a bug survives or a mutation no longer applies (its old text is not in the file exactly once).

OMP_NUM_THREADS defaults to 1 for the test runs: on a machine whose cores are busy, e5 with two
OpenMP threads embeds up to a hundred times slower.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERS = "tests/test_what_users_see.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    bug: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation(
        "html-unescaped",
        "html.escape is the identity in the Telegram renderer",
        "bot/frontends/render.py",
        "import html\n",
        "import html\nimport types\n\nhtml = types.SimpleNamespace(escape=lambda text, quote=True: text)  # planted\n",
        (f"{USERS}::test_telegram_answers_an_article_quoting_markup_and_emoji_in_messages_telegram_accepts",),
    ),
    Mutation(
        "telegram-one-piece",
        "Telegram's own splitting of a long reply always sends one piece",
        "bot/frontends/telegram.py",
        "if utf16_length(whole) <= 4096:",
        "if True:",
        (f"{USERS}::test_an_answer_longer_than_one_telegram_message_arrives_in_several_that_telegram_accepts",),
    ),
    Mutation(
        "faiss-in-place",
        "the FAISS store writes its index straight to the final path",
        "bot/store/faiss_store.py",
        'write_atomically(folder / f"{name}.faiss", lambda tmp: faiss.write_index(self.index, str(tmp)))',
        'faiss.write_index(self.index, str(folder / f"{name}.faiss"))',
        ("tests/test_store.py",),
    ),
    Mutation(
        "store-json-in-place",
        "the FAISS store writes its documents (JSON) straight to the final path",
        "bot/store/faiss_store.py",
        "        write_json_atomically(\n            folder",
        '        (lambda path, data: path.write_text(json.dumps(data), encoding="utf-8"))(\n            folder',
        ("tests/test_store.py",),
    ),
    Mutation(
        "sha-ignored",
        "the seeds' sha256 is not compared when the index loads",
        "bot/store/news_index.py",
        "if d not in articles or meta.sha256 != articles[d].content_hash\n",
        "if d not in articles\n",
        (
            f"{USERS}::test_an_article_corrected_in_place_is_quoted_in_its_new_wording_by_the_next_cli_question",
            f"{USERS}::test_a_telegram_bot_restarted_after_a_correction_quotes_the_new_wording",
        ),
    ),
    Mutation(
        "one-citation",
        "answers cite one passage instead of up to three",
        "bot/answering/retrieve.py",
        "MAX_CITATIONS = 3\n",
        "MAX_CITATIONS = 1\n",
        (f"{USERS}::test_a_real_answer_cites_three_passages_and_the_terminal_shows_the_article_as_written",),
    ),
    Mutation(
        "slack-unescaped",
        "Slack's mrkdwn escaping is the identity",
        "bot/frontends/render.py",
        'return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")',
        "return text",
        (f"{USERS}::test_slack_answers_an_article_quoting_markup_and_emoji_with_every_character_escaped",),
    ),
    Mutation(
        "manifest-in-place",
        "text files (the index manifest among them) are written in place, not through a temp file",
        "bot/files.py",
        'write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))',
        'path.write_text(text, encoding="utf-8")',
        (f"{USERS}::test_an_index_update_killed_while_writing_leaves_the_old_index_answering_as_before",),
    ),
    Mutation(
        "old-generation-dropped-early",
        "an update drops the old generation before the manifest names the new one",
        "bot/store/news_index.py",
        "    generation = backend.persist(index, index_dir)\n",
        "    generation = backend.persist(index, index_dir)\n    backend.drop_except(index_dir, generation)\n",
        (f"{USERS}::test_an_index_update_killed_while_writing_leaves_the_old_index_answering_as_before",),
    ),
    Mutation(
        "history-unbounded",
        "conversation history keeps every question",
        "bot/frontends/history.py",
        "self.turns = max(1, turns)",
        "self.turns = 1_000_000",
        ("tests/test_conversation.py::test_history_is_bounded_per_conversation",),
    ),
]


def repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def copy_repository(target: Path) -> None:
    for name in repository_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)


def run_tests(copy: Path, tests: list[str]) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_", "SLACK_"))}
    env["PYTHONPATH"] = str(copy)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["COLUMNS"] = "400"  # room for the reason on pytest's FAILED line
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests, "-m", "not slow"],
        cwd=copy,
        env=env,
        capture_output=True,
        timeout=1200,
    )
    return result.returncode, result.stdout.decode(errors="replace"), time.perf_counter() - started


def failed_test(output: str) -> tuple[str, str]:
    """The first failing test of a pytest -q run, and the start of its reason."""
    found = re.search(r"^(?:FAILED|ERROR) (\S+)(?: - (.*))?$", output, re.MULTILINE)
    if not found:
        return "?", ""
    return found.group(1).split("::", 1)[-1], " ".join((found.group(2) or "").split())[:110]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run of the unchanged copy")
    args = parser.parse_args()
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:30} {m.file:28} {m.bug}")
        return 0
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutations: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsbot-mutations-") as folder:
        copy = Path(folder)
        copy_repository(copy)
        imported = subprocess.run(
            [sys.executable, "-c", "import bot; print(bot.__file__)"],
            cwd=copy,
            env={**os.environ, "PYTHONPATH": str(copy)},
            capture_output=True,
        )
        if not imported.stdout.decode().startswith(str(copy)):
            print(
                f"mutations: the copy's bot package is not the one imported ({imported.stdout.decode().strip()})",
                file=sys.stderr,
            )
            return 2
        if not args.no_baseline:
            tests = list(dict.fromkeys(t for m in chosen for t in m.tests))
            code, output, seconds = run_tests(copy, tests)
            if code != 0:
                print(output[-4000:])
                print(
                    f"mutations: the tests fail on the unchanged code ({seconds:.0f} s); nothing to compare against",
                    file=sys.stderr,
                )
                return 2
            print(f"unchanged code: {len(tests)} test selections pass ({seconds:.0f} s)\n")
        survived: list[str] = []
        for m in chosen:
            path = copy / m.file
            original = path.read_text(encoding="utf-8")
            if original.count(m.old) != 1:
                print(f"NOT APPLIED  {m.name}: its old text is in {m.file} {original.count(m.old)} times")
                survived.append(m.name)
                continue
            path.write_text(original.replace(m.old, m.new), encoding="utf-8")
            try:
                code, output, seconds = run_tests(copy, list(m.tests))
            finally:
                path.write_text(original, encoding="utf-8")
            if code == 1:
                test, reason = failed_test(output)
                print(f"caught       {m.name:30} by {test}  ({seconds:.0f} s)\n{'':13}{reason}")
            else:
                verdict = "SURVIVED" if code == 0 else f"ERROR {code}"
                print(f"{verdict:12} {m.name:30} {m.bug}  ({seconds:.0f} s)")
                if code != 0:
                    print(output[-2000:])
                survived.append(m.name)
    print(f"\n{len(chosen) - len(survived)}/{len(chosen)} planted bugs caught in {time.perf_counter() - started:.0f} s")
    if survived:
        print("not caught: " + ", ".join(survived))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
