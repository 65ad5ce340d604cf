"""Issue 13, classes 5-10: mappings real projects write, each right in every backend or refused."""
