"""Orbit beside SAQ, Procrastinate and Huey: one workload, one run (``python -m bench.peers``).

Each system runs in a subprocess of its own (``run_<system>.py`` beside this file): Orbit
with the project's interpreter, the peers with a cached venv of pinned versions
(``venv.py``). ``method.py`` is the workload, the same for every system; it imports
nothing but the standard library and psycopg, so it runs in either interpreter.
"""
