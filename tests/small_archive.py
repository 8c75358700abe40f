"""A small archive of ten articles for browsing and briefing tests: the seed, the invented
follow-up and wind-law articles, and seven short invented articles (two about a storm), dated
from 2022-01 to 2023-03-16 — more than one page of /sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT, SEED

INVENTED = {
    "501_storm_bridge.txt": (
        "date 2023-03-16 Stormen lukkede i nat broen over Storebælt for al trafik.\n\n"
        "Vinden nåede orkanstyrke langs vestkysten, og færgerne blev i havn.\n\n/vejrbladet/\n"
    ),
    "502_storm_ports.txt": (
        "date 2023-03-15 A winter storm closed the ports on the west coast on Wednesday.\n\n"
        "Ferries stayed in harbour until the wind eased in the evening.\n\n/coastwire/\n"
    ),
    "503_school_computers.txt": (
        "date 2023-03-13 Kommunens skoler får nye computere til alle elever i sjette klasse.\n\n"
        "Byrådet har afsat to millioner kroner til indkøbet.\n\n/lokalavisen/\n"
    ),
    "504_budget.txt": (
        "date 2023-03-10 Byrådet vedtog torsdag budgettet for næste år med et stort flertal.\n\n"
        "Budgettet giver flere penge til ældreplejen og cykelstier.\n\n/lokalavisen/\n"
    ),
    "505_cup_final.txt": (
        "date 2023-02-20 Fodboldklubben vandt pokalfinalen efter straffesparkskonkurrence.\n\n"
        "Tusindvis af fans fejrede sejren på torvet om aftenen.\n\n/sportsnyt/\n"
    ),
    "506_museum.txt": (
        "date 2023-01-05 Museet åbner en ny udstilling om vikingetidens handelsruter.\n\n"
        "Udstillingen viser fund fra udgravningerne ved fjorden.\n\n/kulturbladet/\n"
    ),
    "507_christmas_market.txt": (
        "date 2022-12-24 Julemarkedet på torvet havde rekordmange besøgende i år.\n\n"
        "Boderne solgte især æbleskiver og gløgg.\n\n/lokalavisen/\n"
    ),
}
SECOND = ROOT / "tests" / "fixtures" / "second_article" / "900_test_fixture_followup.txt"
WIND_LAW = ROOT / "tests" / "fixtures" / "feeds" / "wind_law.ninjs.json"


def write_small_archive(folder: Path) -> Path:
    """The ten articles as a seeds folder."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, folder / SEED.name)
    shutil.copy(SECOND, folder / SECOND.name)
    shutil.copy(WIND_LAW, folder / "800_wind_law.json")
    for name, text in INVENTED.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
