"""Declared parameter rules: what each accepts, the words it uses, and the two messages one rule gives."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from pulsetwin.exceptions import ParameterError, RuleTypeError, SchemaError
from pulsetwin.schema.params import (
    Boolean,
    Integer,
    NoneOr,
    Number,
    Options,
    Rule,
    Text,
    TupleOf,
    check_param,
    read_key,
    read_mapping,
    refuse_unknown_keys,
)


@pytest.mark.parametrize(
    ("rule", "good", "bad", "words"),
    [
        (Integer(low=1), [1, 7, np.int64(2)], [0, True, np.bool_(True), 1.0, "1", None], "an integer >= 1"),
        (Integer(low=1, high=30), [1, 30], [0, 31], "an integer in [1, 30]"),
        (Number(low=0, closed="neither"), [1e-9, 3, math.inf], [0, -1, True, math.nan, "2"], "a number > 0"),
        (Number(low=0, high=1, closed="left"), [0, 0.5], [1, -0.1], "a number in [0, 1)"),
        (Number(finite=True), [-3.5], [math.inf, math.nan], "a finite number"),
        (Boolean(), [True, False], [0, 1, "yes"], "True or False"),
        (Text(), ["a"], ["", "  ", 3, None], "a non-empty text"),
        (Options(("W", "M")), ["W", "M"], ["D", None], "one of 'W', 'M'"),
        (Options((0, 1)), [0, 1], [False, True, 2], "one of 0, 1"),
        (NoneOr(Integer(low=1)), [None, 2], [0, "x"], "None or an integer >= 1"),
        (TupleOf(Integer(low=1)), [(), (1, 4)], [[1], (0,), (True,)], "a tuple of integers >= 1"),
        (
            TupleOf(Text(), lists=True, non_empty=True),
            [["a"], ("b",)],
            [[], [""]],
            "a non-empty list of non-empty texts",
        ),
    ],
)
def test_rules_accept_refuse_and_say_what_must_hold(
    rule: Rule, good: list[object], bad: list[object], words: str
) -> None:
    assert all(rule.accepts(value) for value in good)
    assert not any(rule.accepts(value) for value in bad)
    assert rule.describe() == words


def test_a_parameter_gets_the_house_sentence() -> None:
    message = "The 'k' parameter of MovingMean must be an integer >= 1. Got 0 instead."
    with pytest.raises(ParameterError, match=re.escape(message)):
        check_param("k", "MovingMean", Integer(low=1), 0)
    assert check_param("k", "MovingMean", Integer(low=1), 3) == 3


def test_a_wrong_type_is_a_type_error_and_still_a_parameter_error() -> None:
    with pytest.raises(RuleTypeError) as caught:
        check_param("k", "MovingMean", Integer(low=1), "3")
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ParameterError)
    with pytest.raises(ParameterError) as wrong_value:
        check_param("k", "MovingMean", Integer(low=1), 0)
    assert not isinstance(wrong_value.value, TypeError)
    with pytest.raises(ParameterError, match=re.escape("The 'demo' setting must be True or False. Got 1")):
        check_param("demo", None, Boolean(), 1)


def test_a_spec_key_names_file_key_value_expectation_and_fix() -> None:
    data = {"power": {"simulations": 10}}
    with pytest.raises(SchemaError) as caught:
        read_key(
            data["power"], "simulations", Integer(low=50), file="t.yaml", prefix="power.", fix="raise it"
        )
    assert str(caught.value) == (
        "file 't.yaml', column 'power.simulations', value 10: must be an integer >= 50. Fix: raise it"
    )
    with pytest.raises(SchemaError, match="column 'seed': must be an integer >= 0 \\(the key is missing\\)"):
        read_key({}, "seed", Integer(low=0), file="t.yaml", fix="add it")
    assert read_key({}, "seed", Integer(low=0), file="t.yaml", fix="add it", default=0) == 0


def test_an_unknown_yaml_key_is_refused_naming_its_path_the_allowed_keys_and_the_fix() -> None:
    refuse_unknown_keys({"a": 1, "b": 2}, {"a", "b", "c"}, file="spec.yaml", fix="see the example")
    with pytest.raises(SchemaError, match=r"must be one of the fields a, b") as caught:
        refuse_unknown_keys(
            {"a": 1, "zz": 2, "yy": 3},
            {"a", "b"},
            file="spec.yaml",
            fix="see the example",
            path="design",
            word="fields",
        )
    text = str(caught.value)
    assert "spec.yaml" in text and "design.yy" in text and "see the example" in text


def test_a_yaml_block_that_is_not_a_mapping_of_named_keys_is_refused_naming_its_path() -> None:
    block = {"k": 10}
    assert read_mapping(block, file="spec.yaml", path="policy", fix="see the example") is block
    for bad, where in (([1, 2], "policy"), ({1: "x"}, "policy"), ("text", "(top level)")):
        path = "" if where == "(top level)" else where
        with pytest.raises(SchemaError, match="must be a mapping of named fields") as caught:
            read_mapping(bad, file="spec.yaml", path=path, fix="see the example", word="fields")
        text = str(caught.value)
        assert "spec.yaml" in text and where in text and "see the example" in text
