"""`overgang simulate`: a population of transitions run through virtual time.

The real workflows and activities run against real PostgreSQL on Temporal's time-skipping
test server. A seeded population model (``population``) plans what people do and when; the
driver (``driver``) sends their commands as Updates while virtual time passes; invariants
(``invariants``) compare what happened with what the domain's rules say must happen, and the
report (``report``) gives the figures a leader would see and the run's own throughput.
"""
