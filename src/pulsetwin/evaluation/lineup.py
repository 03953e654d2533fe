"""The lineup of a backtest: which models are scored, and where the work runs.

A lineup names candidate models and naive baselines (registered names or Model instances) and whether the
oracles join. Every model in it is scored under its short ``name``, which becomes its row in the result; two
different models of one name would make one row of two models, so they are refused. The same model listed
twice (a naive baseline also named as a candidate, as the default lineup does) is scored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pulsetwin.evaluation.oracle import ORACLE_NAME
from pulsetwin.evaluation.origin_oracle import ORIGIN_ORACLE_NAME
from pulsetwin.exceptions import ParameterError, bad_parameter
from pulsetwin.models.base import Model

OWNER = "Lineup"


@dataclass(frozen=True)
class Lineup:
    """Which models a backtest scores.

    Parameters
    ----------
    models
        Registered model names or Model instances; ``None``: the registry's default lineup (slow opt-in models
        run only when named). ``oracle`` and ``origin_oracle`` are refused here (the flags below add them).
    naive
        The naive baselines; ``None``: every registered naive model. They are always scored.
    oracle
        Add the oracle; ``None``: when a non-empty ``truth`` frame is present.
    origin_oracle
        The ceiling of the attainable share. ``None``: from a store whose incidents and truth come from one
        twin import, replay that twin and add the origin oracle when the replay reproduces the stored truth
        (else a note says why not); from frames, none. ``True``: the same, but refuse when it cannot be added;
        ``False``: never. A Model (e.g. ``OriginOracle(process=...)``): add that one.
    """

    models: tuple[str | Model, ...] | None = None
    naive: tuple[str | Model, ...] | None = None
    oracle: bool | None = None
    origin_oracle: Model | bool | None = None

    def __post_init__(self) -> None:
        for name in ("models", "naive"):
            specs = getattr(self, name)
            if specs is None:
                continue
            if isinstance(specs, str | Model) or not isinstance(specs, Sequence):
                raise bad_parameter(name, OWNER, "a sequence of model names or Model instances", specs)
            for spec in specs:
                _check_spec(spec, name)
            object.__setattr__(self, name, tuple(specs))
        if self.oracle is not None and not isinstance(self.oracle, bool):
            raise bad_parameter("oracle", OWNER, "True, False or None", self.oracle)
        if self.origin_oracle is not None and not isinstance(self.origin_oracle, bool | Model):
            raise bad_parameter("origin_oracle", OWNER, "a Model, True, False or None", self.origin_oracle)

    def resolve(self) -> tuple[list[Model], list[Model]]:
        """The naive baselines and the other candidates as Model instances (registry defaults where None)."""
        from pulsetwin.models.registry import default_model_names, naive_names

        naive = resolve_models(self.naive if self.naive is not None else naive_names())
        candidates = resolve_models(self.models if self.models is not None else default_model_names())
        return naive, candidates


def _check_spec(spec: object, name: str) -> None:
    """Refuse an entry that is no model name or Model, and the oracles by name."""
    if isinstance(spec, str) and spec in (ORACLE_NAME, ORIGIN_ORACLE_NAME):
        raise ParameterError(
            f"The {spec.replace('_', ' ')} is not a model to choose: backtests on twin data add it automatically."
        )
    if not isinstance(spec, str | Model):
        raise bad_parameter(name, OWNER, "model names or Model instances", spec)


def resolve_models(specs: Sequence[str | Model]) -> list[Model]:
    """Model instances from names (via the registry) or instances."""
    from pulsetwin.models.registry import make_model

    out: list[Model] = []
    for spec in specs:
        _check_spec(spec, "models")
        out.append(spec if isinstance(spec, Model) else make_model(spec))
    return out


def unique_lineup(models: Sequence[Model]) -> list[Model]:
    """``models`` in order with each name once; refuse two different models that share a name.

    Two entries are the same model when they are of one class with equal parameters (a naive baseline that
    is also named as a candidate); the first is kept.
    """
    kept: dict[str, Model] = {}
    for model in models:
        first = kept.get(model.name)
        if first is None:
            kept[model.name] = model
        elif not _same(first, model):
            raise ParameterError(
                f"two different models in the lineup are named '{model.name}' ({_described(first)} and "
                f"{_described(model)}); each model's scores are filed under its name, so one would be lost. "
                "Fix: pass only one of them, or give one a distinct name (a subclass with its own `name`)"
            )
    return list(kept.values())


def _same(a: Model, b: Model) -> bool:
    """Whether two models are of one class with equal parameters (unequal when the comparison is unclear)."""
    if type(a) is not type(b):
        return False
    try:
        return bool(a.get_params() == b.get_params())
    except (TypeError, ValueError):
        return False


def _described(model: Model) -> str:
    """``ClassName(param=value, ...)`` for a message."""
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(model.get_params().items()))
    return f"{type(model).__name__}({params})"
