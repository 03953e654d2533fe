"""Typer command-line interface; each module registers its commands on the root app."""
