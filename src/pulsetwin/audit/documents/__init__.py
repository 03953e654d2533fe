"""Accountability documents generated from measured values: model card, Algoritmeregister entry, AI Act
Annex IV technical documentation and an IAMA preparation draft."""
