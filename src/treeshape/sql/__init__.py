"""Everything that becomes SQL: clauses of options, secondaries, counts, the loader plan, fetch.

`clauses` and `secondary` are the shared SQL pieces; `counting` the per-parent counts;
`loading` the ORM loader options; `fetch` the documents straight from the database.
"""
