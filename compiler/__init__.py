"""Semantic checks of a parsed spec and the push plan builder."""
