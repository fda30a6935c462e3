"""Tools an agent can call: the built-in memory tools, and how a call is checked and run."""
