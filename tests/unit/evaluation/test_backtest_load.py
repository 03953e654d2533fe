"""What a backtest reads and holds: one freq of incidents and truth, compact text, events only for the models
that read them; the values and the scores unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from eval_toys import HistMean, make_city

from pulsetwin.evaluation.backtest import BacktestResult, backtest, uses_events
from pulsetwin.evaluation.lineup import Lineup
from pulsetwin.evaluation.skill import SkillSettings
from pulsetwin.evaluation.splits import RollingOrigin
from pulsetwin.models.base import History, Model
from pulsetwin.models.registry import make_model
from pulsetwin.store.database import Store
from pulsetwin.store.frames import FrameSource, compact_frame, compact_incidents, load_frames

DESIGN = RollingOrigin("W", horizon=2, folds=2)


def _backtest(
    data: FrameSource | dict[str, pd.DataFrame], models: list[Model], naive: list[Model]
) -> BacktestResult:
    lineup = Lineup(models=models, naive=naive)
    return backtest(data, DESIGN, lineup, skill=SkillSettings(n_boot=50), scheduler="serial")


class EventAware(HistMean):
    """Pair mean plus one when its history holds an events frame: shows whether events reached the fit."""

    name: ClassVar[str] = "t_event_aware"

    def fit(self, history: History) -> EventAware:
        super().fit(history)
        self.means_["count"] += float(history.events is not None)
        return self


class EventReader(EventAware):
    name: ClassVar[str] = "t_event_reader"
    uses_events: ClassVar[bool] = True


def _events(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "event_id": [f"e{i:03d}" for i in range(n)],
            "category": "burglary_residential",
            "occurred_at": pd.Timestamp("2021-01-04") + pd.to_timedelta(rng.uniform(0, 500, n), unit="D"),
            "x": rng.uniform(190_000, 200_000, n),
            "y": rng.uniform(320_000, 321_000, n),
            "source": "police",
        }
    ).astype({"occurred_at": "datetime64[ns]"})


@pytest.fixture(scope="module")
def two_freq_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with weekly and monthly incidents and truth, and events."""
    city = make_city(n_areas=4, n_weeks=60)
    monthly = city["incidents"].assign(period_start=city["incidents"]["period_start"].dt.to_period("M"))
    monthly = monthly.groupby(["area_code", "period_start", "category", "source"], as_index=False)[
        "count"
    ].sum()
    monthly = monthly.assign(period_start=monthly["period_start"].dt.to_timestamp().astype("datetime64[ns]"))
    monthly = monthly.assign(freq="M")[list(city["incidents"].columns)]
    truth_m = monthly.rename(columns={"count": "intensity"}).drop(columns="source")
    truth_m = truth_m.assign(
        intensity=truth_m["intensity"] * 1.0, offence_intensity=truth_m["intensity"] * 1.5
    )
    frames = {
        "areas": city["areas"],
        "covariates": city["covariates"],
        "incidents": pd.concat([city["incidents"], monthly], ignore_index=True),
        "truth": pd.concat([city["truth"], truth_m[list(city["truth"].columns)]], ignore_index=True),
        "events": _events(),
    }
    path = tmp_path_factory.mktemp("load") / "two.duckdb"
    with Store(path) as store:
        store.import_frames(frames, source="test")
    return path


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({k: "str" for k, v in frame.dtypes.items() if isinstance(v, pd.CategoricalDtype)})


@pytest.mark.parametrize("freq", ["W", "M"])
def test_load_frames_reads_one_freq_with_compact_truth(two_freq_db: Path, freq: str) -> None:
    with Store(two_freq_db, read_only=True) as store:
        frames = load_frames(store, freq)  # type: ignore[arg-type]
        lean = load_frames(store, freq, events=False, compact=True)  # type: ignore[arg-type]
        incidents = store.read("incidents", where={"freq": freq})
        truth = store.read("truth", where={"freq": freq})
        assert len(frames["events"]) == 40 and "events" not in lean
    pd.testing.assert_frame_equal(frames["incidents"], incidents)
    assert isinstance(frames["truth"]["area_code"].dtype, pd.CategoricalDtype)
    assert set(frames["truth"]["freq"]) == {freq}
    pd.testing.assert_frame_equal(_as_text(frames["truth"]), truth, check_dtype=False)
    pd.testing.assert_frame_equal(lean["incidents"], compact_incidents(incidents))
    assert lean["incidents"]["period_start"].is_monotonic_increasing


def test_compact_frame_keeps_rows_order_and_values() -> None:
    frame = make_city(n_areas=3, n_weeks=5)["incidents"].iloc[::-1]
    out = compact_frame(frame)
    assert all(
        isinstance(out[k].dtype, pd.CategoricalDtype) for k in ("area_code", "freq", "category", "source")
    )
    assert list(out["area_code"].cat.categories) == sorted(frame["area_code"].unique())
    pd.testing.assert_frame_equal(_as_text(out), frame.reset_index(drop=True), check_dtype=False)
    assert (out.dtypes[["count", "period_start"]] == frame.dtypes[["count", "period_start"]]).all()


def test_only_event_models_make_a_backtest_hold_events() -> None:
    assert not uses_events([make_model("glm"), make_model("naive_last")])
    assert uses_events([make_model("glm"), make_model("kde_area")])
    city = make_city(n_areas=4, n_weeks=60)
    with_events = {**city, "events": _events()}
    naive = [HistMean()]
    blind = _backtest(city, [EventAware()], naive)
    dropped = _backtest(with_events, [EventAware()], naive)
    read = _backtest(with_events, [EventReader()], naive)
    pd.testing.assert_frame_equal(blind.scores, dropped.scores)
    aware = dropped.summary.set_index("model").loc["t_event_aware", "mae"]
    reader = read.summary.set_index("model").loc["t_event_reader", "mae"]
    assert reader != pytest.approx(aware)


def test_store_and_frames_backtests_agree(two_freq_db: Path) -> None:
    """From the store (compact incidents, truth of one freq) as from the canonical frames."""
    with Store(two_freq_db, read_only=True) as store:
        from_store = _backtest(store, [], [HistMean()])
        frames = {name: store.read(name) for name in ("areas", "covariates", "incidents", "truth", "events")}
    from_frames = _backtest(frames, [], [HistMean()])
    pd.testing.assert_frame_equal(from_store.scores, from_frames.scores)
    assert "oracle" in set(from_store.summary["model"])
