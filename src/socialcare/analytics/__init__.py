"""Value at scale: the evidence library, the ROI calculator, and shared savings on claims.

The claims analytics are Ibis expressions that run unchanged on DuckDB (default) and Apache Spark
(``--engine spark``); see docs/analytics.md.
"""
