"""Test doubles for llm-persona users and for our own tests: fake provider servers on a real socket.

Scripted models (no network at all) live in `llm_persona.llm.scripted`.
"""

from llm_persona.testing.fake_anthropic import FakeAnthropicServer
from llm_persona.testing.fake_openai import FakeOpenAIServer, fake_embedding
from llm_persona.testing.replies import (
    Drop,
    ErrorReply,
    Garbage,
    Reply,
    ReplyLike,
    bad_request,
    context_length_exceeded,
    delayed,
    rate_limited,
    server_error,
)
from llm_persona.testing.server import RecordedRequest, Responder, ScriptedServer

__all__ = [
    "Drop",
    "ErrorReply",
    "FakeAnthropicServer",
    "FakeOpenAIServer",
    "Garbage",
    "RecordedRequest",
    "Reply",
    "ReplyLike",
    "Responder",
    "ScriptedServer",
    "bad_request",
    "context_length_exceeded",
    "delayed",
    "fake_embedding",
    "rate_limited",
    "server_error",
]
