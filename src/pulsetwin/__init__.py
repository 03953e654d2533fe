"""PulseTwin: forecast liveability and safety per place, prove it beats naive baselines, audit whom it could harm."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pulsetwin")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["__version__"]
