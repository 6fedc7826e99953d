"""The spec language: grammar, parser and the frozen AST with source spans."""
