"""Side-by-side benchmarks: treeshape against what users write by hand.

Run ``python -m benchmarks --help``. The modules are small on purpose:

- ``feeds``: build (and cache) a SQLite database from a GTFS zip;
- ``workloads``: the three endpoints being measured and how to pick their ids;
- ``handwritten``: the hand-written baselines (marshmallow, Pydantic, dicts, Core, SQL JSON, lazy);
- ``harness``: interleaved timing, statement counts, peak memory, Markdown and PNG output;
- ``scaling``: the same cases on synthetic copies of the busiest route (1x to 16x trips).
"""
