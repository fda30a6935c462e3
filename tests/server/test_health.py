"""The server answers the SDK's health check."""

from letta_client import Letta

from llm_persona import __version__


def test_health_through_the_sdk(client: Letta) -> None:
    health = client.health()
    assert (health.status, health.version) == ("ok", __version__)
