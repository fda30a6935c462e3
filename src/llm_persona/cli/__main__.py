"""`python -m llm_persona.cli` runs the `llm-persona` command line."""

from llm_persona.cli import main

main()
