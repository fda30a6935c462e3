"""Handles: parsing, the providers they name, and keeping SDK imports lazy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llm_persona.errors import ModelBadRequestError
from llm_persona.llm import RetryingModel, RetryPolicy, get_model, parse_handle
from llm_persona.llm.anthropic import AnthropicModel
from llm_persona.llm.openai import OpenAIModel


def test_parse_handle() -> None:
    assert parse_handle("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_handle("ollama/hf.co/org/model:Q4") == ("ollama", "hf.co/org/model:Q4")


@pytest.mark.parametrize("handle", ["gpt-4o", "openai/", "/gpt-4o", ""])
def test_malformed_handles_say_the_expected_shape(handle: str) -> None:
    with pytest.raises(ModelBadRequestError, match=r"is not 'provider/model'.*openai/gpt-4o-mini"):
        parse_handle(handle)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ModelBadRequestError, match="Unknown model provider 'gemini'") as caught:
        get_model("gemini/pro")

    message = str(caught.value)
    assert "openai, anthropic, ollama" in message
    assert "base_url" in message


def test_scripted_is_not_a_handle() -> None:
    with pytest.raises(ModelBadRequestError, match="ScriptedModel"):
        get_model("scripted/anything")


def test_get_model_builds_the_provider_model_wrapped_in_retries() -> None:
    policy = RetryPolicy(base_delay=0.1)
    openai_model = get_model("openai/gpt-4o-mini", retry=policy)
    anthropic_model = get_model("anthropic/claude-sonnet-4-5", api_key="k")

    assert isinstance(openai_model, RetryingModel)
    assert isinstance(openai_model.inner, OpenAIModel)
    assert openai_model.policy is policy
    assert openai_model.handle == "openai/gpt-4o-mini"
    assert isinstance(anthropic_model, RetryingModel)
    assert isinstance(anthropic_model.inner, AnthropicModel)
    assert anthropic_model.handle == "anthropic/claude-sonnet-4-5"


def test_unknown_option_is_a_clear_error() -> None:
    with pytest.raises(ModelBadRequestError, match=r"Bad option for 'openai/x'.*colour"):
        get_model("openai/x", colour="blue")


def test_importing_the_model_layer_does_not_import_the_sdks() -> None:
    probe = "import json, sys; import llm_persona.llm; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}

    assert not loaded & {"openai", "anthropic", "httpx", "httpx2"}
