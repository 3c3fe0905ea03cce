"""Placeholder package: built in its own issue; exists so the layer contract names it."""
