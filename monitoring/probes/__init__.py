"""Model probes: graders, an OpenAI-compatible chat client and the paired statistics, with no ORM.

Services in `monitoring.services.probes` and `monitoring.services.probe_runs` load golden sets and results,
call these functions and store what they return; everything here works on plain values and is tested
without a database.
"""
