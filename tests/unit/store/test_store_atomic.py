"""An import killed with SIGKILL before it commits leaves every table exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_helpers import dump_store, incidents_frame

from pulsetwin.store import Store

# The child builds a large canonical frame, replaces validation by the identity (the frame is canonical
# already; this test is about the write path, not the validator) and stops at a chosen point inside the
# transaction:
#   during_insert  - announces itself as the big INSERT starts; the parent kills it a moment later
#   before_commit  - rows, categories, provenance and the log record are written; only COMMIT is missing
CHILD = r"""
import sys, time
from pathlib import Path
import numpy as np
import pandas as pd
import pulsetwin.schema.pii as pii
import pulsetwin.schema.validate as validate
import pulsetwin.store.importing as importing
from pulsetwin.store import Store
from pulsetwin.store.log import Log

db, marker, point, rows = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
codes = np.array([f"BU0918{i:04d}" for i in range(1000)])
weeks = pd.date_range("2000-01-03", periods=-(-rows // 1000), freq="W-MON").to_numpy("datetime64[ns]")
idx = np.arange(rows)
frame = pd.DataFrame({
    "area_code": pd.Series(codes[idx % 1000], dtype="str"),
    "period_start": weeks[idx // 1000],
    "freq": pd.Series(np.full(rows, "W"), dtype="str"),
    "category": pd.Series(np.full(rows, "overlast_jeugd"), dtype="str"),
    "count": pd.array(idx % 7, dtype="Int64"),
    "source": pd.Series(np.full(rows, "gemeente"), dtype="str"),
})
validate.validate_table = lambda table, frame, file=None: frame
pii.guard_personal_data = lambda frame, file=None: None

if point == "during_insert":
    original = importing._merge
    def merge(store, spec, frame, **kwargs):
        marker.write_text(point)
        result = original(store, spec, frame, **kwargs)
        time.sleep(600)
        return result
    importing._merge = merge
else:
    original_append = Log.append
    def append(self, *args, **kwargs):
        record = original_append(self, *args, **kwargs)
        marker.write_text(point)
        time.sleep(600)
        return record
    Log.append = append
with Store(db) as store:
    store.import_frames({"incidents": frame}, source="big")
"""


@pytest.mark.slow
@pytest.mark.parametrize(("point", "delay"), [("during_insert", 0.3), ("before_commit", 0.0)])
def test_sigkill_mid_import_leaves_store_byte_identical(tmp_path: Path, point: str, delay: float) -> None:
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        store.import_frames({"incidents": incidents_frame()}, source="seed")
    before = dump_store(db)
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(marker), point, "1500000"])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the child ended before reaching the kill point"
            assert time.monotonic() < deadline, "the child never reached the kill point"
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Store(db) as store:  # reopening replays the WAL: only committed work may appear
        assert store.log.verify().ok
        assert store.count("incidents") == 12
    assert dump_store(db) == before
    with Store(db) as store:  # and the store still takes imports afterwards
        store.import_frames({"incidents": incidents_frame(n_areas=4)}, source="seed")
        assert store.count("incidents") == 16
