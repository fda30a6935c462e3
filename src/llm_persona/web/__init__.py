"""The web page: personas, agents, memory and chat in a browser, talking to the server's `/v1` API.

Static files only (HTML, JavaScript, CSS; no framework, no build step, nothing fetched from
elsewhere), shipped as package data in `static/`. The server serves `index.html` at `/` and the
folder at `/web/` (see `llm_persona.server.app`); the page calls the API like any other client,
sending the API key the user typed (kept in the browser's localStorage) as `Authorization: Bearer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["INDEX_HTML", "STATIC_DIR", "STATIC_PREFIX"]

#: The folder holding the page's files.
STATIC_DIR: Final = Path(__file__).parent / "static"
#: The page itself, served at `/`.
INDEX_HTML: Final = STATIC_DIR / "index.html"
#: Where the server mounts `STATIC_DIR` (the page links its assets under it).
STATIC_PREFIX: Final = "/web"
