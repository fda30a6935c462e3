"""The wire contract with the official `letta-client` SDK (1.12.1), in strict mode.

Every response model is built from realistic records through `convert`, sent through JSON, and
validated with the SDK's own type the way `Letta(_strict_response_validation=True)` does it
(`letta_client._models.validate_type`). Request bodies are captured from the real SDK client (an
httpx mock transport stands in for the server) and parsed with our request models; the same fake
server answers with our converted bodies, so every SDK call in these tests also parses them strictly.
"""
