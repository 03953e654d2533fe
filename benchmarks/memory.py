"""Peak and current resident memory of the running process (Linux), shared by the benchmark scripts.

The peak is read from ``VmHWM`` rather than ``ru_maxrss``: a child's ``ru_maxrss`` keeps its parent's peak across
``fork``/``exec``, so a benchmark child started by a parent that generated a twin would report the generator's
memory as its own. :func:`reset_peak` restarts the mark, so a measured step excludes what came before it.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_gb() -> float:
    """Peak resident memory of this process since start or the last :func:`reset_peak`, in GB."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024**2


def resident_gb() -> float:
    """Resident memory of this process now, in GB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1024**3


def reset_peak() -> None:
    """Restart the peak-memory mark at the current resident size (Linux >= 4.0: ``clear_refs`` value 5)."""
    Path("/proc/self/clear_refs").write_text("5")
