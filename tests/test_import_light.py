"""`import llm_persona` loads the persona layer only: no database, web, HTTP client or CLI libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "httpx", "openai", "anthropic", "typer", "rich")

PROBE = """
import json, sys, time
start = time.perf_counter()
import llm_persona
seconds = time.perf_counter() - start
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"seconds": seconds, "loaded": loaded}))
"""


def test_import_is_light() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(done.stdout)
    heavy = sorted(set(HEAVY) & set(report["loaded"]))
    assert heavy == [], f"import llm_persona loaded {heavy}"
    print(f"import llm_persona took {report['seconds'] * 1000:.0f} ms")  # about 0.1-0.3 s; target < 0.5 s
    assert report["seconds"] < 2.0
