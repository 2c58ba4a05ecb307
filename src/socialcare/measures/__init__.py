"""Measures: the engagement funnel, HEDIS SNS-E, timeliness, loop closure, strata (docs/measures.md)."""
