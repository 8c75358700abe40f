"""The package's layers (docs/architecture.md): each module imports only from its own layer or below."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

# Lowest first; a module may import from its own layer and those before it.
# An entry ending in "=" is that module alone (a package's __init__), not the modules below it.
LAYERS: list[list[str]] = [
    ["bot=", "bot.types", "bot.errors", "bot.files", "bot.untrusted", "bot.data", "bot.messages"],
    ["bot.config", "bot.texts", "bot.lang", "bot.names", "bot.documents", "bot.feeds", "bot.archive"],
    ["bot.embeddings", "bot.store", "bot.generators"],
    ["bot.answering"],
    ["bot.service"],
    ["bot.operations"],
    ["bot.frontends"],
    ["bot.bench", "bot.testing"],
    ["bot.cli", "bot.__main__"],
]
# Within the answering, the stages point one way too.
ANSWERING: list[list[str]] = [
    ["bot.answering=", "bot.answering.thresholds"],
    [
        "bot.answering.marks",
        "bot.answering.matching",
        "bot.answering.prompting",
        "bot.answering.screen",
        "bot.answering.when",
    ],
    ["bot.answering.features"],
    ["bot.answering.learned", "bot.answering.retrieve"],
    [
        "bot.answering.gate",
        "bot.answering.verify",
        "bot.answering.citing",
        "bot.answering.readers",
        "bot.answering.composers",
        "bot.answering.stories",
    ],
    ["bot.answering.chain"],
    ["bot.answering.browse", "bot.answering.selection"],
    ["bot.answering.brief", "bot.answering.brief_cache"],
]


# Weekdays and months are the language's, not an article's.
CALENDAR = {
    *["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    *[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("bot"))
    return found


def rank(module: str, layers: list[list[str]]) -> int | None:
    for number, layer in enumerate(layers):
        if any(module == p.rstrip("=") or (not p.endswith("=") and module.startswith(p + ".")) for p in layer):
            return number
    return None


def violations(layers: list[list[str]], within: str = "bot") -> list[str]:
    found = []
    for path in BOT.rglob("*.py"):
        source = module_name(path)
        if not source.startswith(within):
            continue
        source_rank = rank(source, layers)
        assert source_rank is not None, f"{source} is in no layer: add it to LAYERS in {__file__}"
        for target in imports(path):
            target_rank = rank(target, layers)
            if target_rank is not None and target_rank > source_rank:
                found.append(f"{source} imports {target}")
    return sorted(found)


def test_every_module_imports_only_from_its_layer_or_below():
    assert violations(LAYERS) == []


def test_answering_stages_point_one_way():
    assert violations(ANSWERING, within="bot.answering") == []


def test_no_product_module_imports_a_test_double():
    product = [p for p in BOT.rglob("*.py") if not module_name(p).startswith(("bot.bench", "bot.testing"))]
    assert [module_name(p) for p in product if any(t.startswith("bot.testing") for t in imports(p))] == []


def test_the_product_does_not_know_any_article():
    """No name, place or number particular to a seed or corpus article appears in bot/ or prompts/:
    the method must hold for articles nobody tuned it on."""
    articles = [*ROOT.joinpath("seeds").glob("*.txt"), *ROOT.joinpath("tests", "corpus", "articles").glob("*.txt")]
    assert articles
    common = set((ROOT / "bot" / "data" / "stopwords_en.txt").read_text().split())
    common |= set((ROOT / "bot" / "data" / "stopwords_da.txt").read_text().split())
    common |= {"danish", "english"}  # the languages the bot answers in, not a story's names
    particular: set[str] = set()
    for article in articles:
        text = article.read_text(encoding="utf-8")
        # Capitalised words away from a sentence start (names, places), and numbers of four digits
        # or more that are neither round nor years (a round 1000 is also a length limit).
        particular |= {
            m.group(1) for m in re.finditer(r"(?<=[a-zæøå,] )([A-ZÆØÅ][a-zæøå]{3,}(?:-[A-ZÆØÅ][a-zæøå]+)?)", text)
        }
        numbers = re.findall(r"(?<![\d.,])\d{4,}(?![.,]?\d)", text)
        particular |= {n for n in numbers if int(n) % 100 and not 1900 <= int(n) <= 2100}
    particular -= {w for w in particular if w.lower() in common or w.lower() in CALENDAR}
    # Words any text may hold (countries, capitals, everyday words): only what is rare says "this article".
    from wordfreq import zipf_frequency

    particular = {w for w in particular if max(zipf_frequency(w, "en"), zipf_frequency(w, "da")) < 3.5}
    product_files = [
        p
        for p in [
            *BOT.rglob("*.py"),
            *BOT.rglob("*.json"),
            *ROOT.joinpath("prompts").glob("*.txt"),
            *BOT.rglob("*.txt"),
        ]
    ]
    hits = []
    for path in product_files:
        text = path.read_text(encoding="utf-8")
        hits += [
            f"{path.relative_to(ROOT)}: {word}"
            for word in sorted(particular)
            if re.search(rf"(?<![\w.]){re.escape(word)}(?![\w])", text)
        ]
    assert hits == [], "\n".join(hits)
