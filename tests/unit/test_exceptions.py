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


def test_every_root_of_the_error_tree_lives_in_the_exceptions_module() -> None:
    """A class deriving from PulsetwinError itself or from a builtin exception is a branch of the tree and belongs
    in exceptions.py. Refinements of a branch that carry a module's own fields (``HttpStatusError(SourceError)``
    with its status) may stay beside their code; private control-flow signals (``_Retryable``) and the API's
    HTTP answer (``ApiError``, a status and a body for the error handler) are not part of the tree."""
    import ast
    import builtins
    from pathlib import Path

    import pulsetwin.exceptions as home

    roots = {"PulsetwinError"} | {name for name in dir(builtins) if name.endswith(("Error", "Exception"))}
    allowed = {"_Retryable", "ApiError"}
    package = Path(home.__file__).parent
    elsewhere = [
        f"{path.relative_to(package)}: {node.name}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "exceptions.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and node.name not in allowed
        and any(ast.unparse(base).split(".")[-1] in roots for base in node.bases)
    ]
    assert elsewhere == [], "branches of the error tree belong in pulsetwin/exceptions.py:\n" + "\n".join(
        elsewhere
    )
