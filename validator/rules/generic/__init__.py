"""Generic claim edits (WEDI SNIP levels 3-5): balancing, situational rules, code sets,
and batch duplicates. One module per theme; every rule is a vectorised ``@rule``."""
