"""The official files a benchmark runs on: every source `make reports` gets on this machine.

``make data`` fetches them (from ``COCITY_DATA_MIRROR`` when it is set) into a folder of the
benchmark's own, so the figures do not depend on what ``data/raw`` happens to hold.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fetch_sources(raw_dir: Path) -> dict:
    """``make data`` into ``raw_dir`` (untimed); returns the environment that points ``cocity`` at it."""
    print(f"fetching the official files into {raw_dir} (make data, not timed) ...", flush=True)
    env = {**os.environ, "COCITY_RAW_DIR": str(raw_dir)}
    subprocess.run(["make", "-s", "data"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return env


def missing_sources(dataset_dir: Path) -> list[str]:
    """The sources a prepared dataset's provenance lists as unavailable."""
    provenance = json.loads((Path(dataset_dir) / "provenance.json").read_text(encoding="utf-8"))
    return sorted(provenance.get("unavailable_sources") or {})
