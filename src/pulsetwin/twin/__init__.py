"""The twin city: a synthetic municipality (or country) that writes the canonical tables plus its truth."""

from pulsetwin.twin.generate import TwinCity, generate_twin
from pulsetwin.twin.replay import TwinProcess, TwinReplay, replay_twin

__all__ = ["TwinCity", "TwinProcess", "TwinReplay", "generate_twin", "replay_twin"]
