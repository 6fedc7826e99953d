"""Jinja2 templates of run reports (a package so that wheels ship them as package data)."""
