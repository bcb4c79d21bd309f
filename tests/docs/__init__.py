"""Tests of the documentation site: executed snippets, CLI commands, docstrings, figures, the build."""
