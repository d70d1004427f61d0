"""API tokens (skeleton: to be built)."""
