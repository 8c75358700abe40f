"""Pack written wire stories into the newsroom archive the archive benchmark reads (tests/newsroom).

    python scripts/build_newsroom.py DRAFTS [OUT]

DRAFTS holds `batch-*.jsonl` (one story a line: topic, language, headline, body_text, byline,
firstcreated, versioncreated, and the agency as copyrightholder, provider or infosource, or only in
the byline) and `topics-*.json` (per topic, a Danish and an English briefing request). OUT
(default tests/newsroom) gets `articles.jsonl.gz`, one IPTC ninjs document a line with its topic
as a subject, and `topics.json`. The output is the same bytes for the same drafts.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

AGENCY_FIELDS = ("copyrightholder", "provider", "infosource")


def ninjs(story: dict) -> dict:
    """The draft as an IPTC ninjs text item, its topic a subject of the benchmark's own scheme."""
    uri = "urn:newsbot:newsroom:" + hashlib.sha256(story["headline"].encode()).hexdigest()[:16]
    document = {
        "uri": uri,
        "type": "text",
        "language": story["language"],
        "firstcreated": story["firstcreated"],
        "versioncreated": story["versioncreated"],
        "headline": story["headline"],
        "byline": story.get("byline", ""),
        "body_text": story["body_text"],
        "subject": [{"name": story["topic"], "scheme": "newsbot:topic"}],
    }
    document.update({field: story[field] for field in AGENCY_FIELDS if field in story})
    return document


def main(drafts: Path, out: Path) -> None:
    stories = [json.loads(line) for path in sorted(drafts.glob("batch-*.jsonl")) for line in path.open()]
    topics = [entry for path in sorted(drafts.glob("topics-*.json")) for entry in json.loads(path.read_text())]
    documents = sorted((ninjs(story) for story in stories), key=lambda d: d["uri"])
    if len({d["uri"] for d in documents}) != len(documents):
        sys.exit("two stories share a headline")
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as packed:
        packed.write("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents).encode())
    (out / "articles.jsonl.gz").write_bytes(buffer.getvalue())
    (out / "topics.json").write_text(json.dumps(topics, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(documents)} stories over {len({s['topic'] for s in stories})} topics in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else Path("tests/newsroom"))
