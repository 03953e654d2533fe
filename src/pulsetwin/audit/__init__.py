"""Audits: whom a forecast or a patrol policy could single out, and whether it feeds on its own bias."""
