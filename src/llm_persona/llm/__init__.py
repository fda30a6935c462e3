"""The model layer: one small contract (`Model.request` / `Model.stream`) and providers behind handles.

    model = get_model("openai/gpt-4o-mini")
    response = await model.request(ModelRequest([ChatMessage.user("Hello")]))

Provider classes live in `llm_persona.llm.openai` and `llm_persona.llm.anthropic`; importing this
package does not import their SDKs. Failures raise `llm_persona.errors.ModelError` subclasses.
"""

from llm_persona.llm.base import Model, events_for
from llm_persona.llm.providers import PROVIDERS, get_model, parse_handle
from llm_persona.llm.retry import RetryingModel, RetryPolicy
from llm_persona.llm.scripted import FunctionModel, ScriptedModel, tool_call
from llm_persona.llm.types import (
    ChatMessage,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ResponseDone,
    Role,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSchema,
    Usage,
)

__all__ = [
    "PROVIDERS",
    "ChatMessage",
    "FunctionModel",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ResponseDone",
    "RetryPolicy",
    "RetryingModel",
    "Role",
    "ScriptedModel",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolSchema",
    "Usage",
    "events_for",
    "get_model",
    "parse_handle",
    "tool_call",
]
