"""Outputs: render analysis frames for people (rich tables) and machines (JSON, CSV, YAML)."""
