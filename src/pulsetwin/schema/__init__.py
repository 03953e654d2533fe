"""The canonical schema: tables, codes, periods, categories, the validator and the PII guard."""

from pulsetwin.schema.pii import guard_personal_data
from pulsetwin.schema.tables import table_spec
from pulsetwin.schema.validate import new_categories, validate_table

__all__ = ["guard_personal_data", "new_categories", "table_spec", "validate_table"]
