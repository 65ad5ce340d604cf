"""`benchmarks.pg_server_instructions`: its table (the callgrind runs take minutes: not here)."""

from __future__ import annotations

from benchmarks.pg_server_instructions import PHASES, table


def test_table_totals_phases_over_the_fastest_hand_statement() -> None:
    counts = {
        "treeshape json statement": dict.fromkeys(PHASES, 1500.0),
        "pg json, stop joined (hand)": dict.fromkeys(PHASES, 1000.0),
        "pg hasura lateral (hand)": dict.fromkeys(PHASES, 1250.0),
    }
    lines = table("trip", counts).splitlines()
    assert lines[0] == "**trip, server instructions per statement (thousands)**"
    assert lines[2] == "| statement | parse | analyze | plan | execute | total | vs fastest hand |"
    assert lines[4] == "| treeshape json statement | 2 | 2 | 2 | 2 | 6 | 1.50x |"
    assert lines[5] == "| pg json, stop joined (hand) | 1 | 1 | 1 | 1 | 4 | 1.00x |"
    assert lines[6] == "| pg hasura lateral (hand) | 1 | 1 | 1 | 1 | 5 | 1.25x |"
