"""The REST server: Letta's `/v1` API (so the official `letta-client` works against it) and persona
routes on top. A thin face over `llm_persona.agents.AgentRuntime`; start it with `llm-persona serve`."""
