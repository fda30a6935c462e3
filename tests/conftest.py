"""For every test: provider settings from the environment must not leak in (nor send anything out).
A test that talks to a provider points it at a fake server (llm_persona.testing) itself."""

from __future__ import annotations

import pytest

PROVIDER_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
