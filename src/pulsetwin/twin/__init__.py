"""The twin city: a synthetic municipality (or country) that writes the canonical tables plus its truth."""

from pulsetwin.twin.generate import TwinCity, generate_twin

__all__ = ["TwinCity", "generate_twin"]
