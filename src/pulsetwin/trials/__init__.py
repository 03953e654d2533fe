"""Field trials of acting on the forecast: design (spec, allocation, power), pre-registration, analysis.

Layered above evaluation and audit: a trial reads a forecast run, the areas and (for who bore the intervention)
the audit-only protected table through the audit's own reader; it writes only files and log records.
"""
