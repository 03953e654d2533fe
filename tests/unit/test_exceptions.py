"""Error messages name where the problem is, what was expected, and how to fix it."""

from __future__ import annotations

from pulsetwin.exceptions import Location, PersonalDataError, SchemaError, bad_parameter


def test_schema_error_message_names_file_row_column_value_and_fix() -> None:
    error = SchemaError(
        "count must be a non-negative integer",
        where=Location(file="in.csv", row=3, column="count", value="-1"),
        fix="correct the count",
    )
    text = str(error)
    assert text.startswith("file 'in.csv', row 3, column 'count', value '-1': count must be")
    assert text.endswith("Fix: correct the count")
    assert isinstance(error, ValueError)


def test_personal_data_error_is_a_schema_error() -> None:
    assert issubclass(PersonalDataError, SchemaError)


def test_long_values_are_shortened() -> None:
    text = Location(value="x" * 200).describe()
    assert len(text) < 80 and text.endswith("...")


def test_bad_parameter_uses_house_sentence() -> None:
    message = str(bad_parameter("k", "MovingMean", "an integer >= 1", 0))
    assert message == "The 'k' parameter of MovingMean must be an integer >= 1. Got 0 instead."
