"""Request and response schemas of the API (pydantic v2), kept apart so inputs never echo internals."""
