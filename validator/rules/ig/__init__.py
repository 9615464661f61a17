"""Implementation-guide validation (WEDI SNIP level 2) through pyx12.

``build`` cuts the batch's 837 transaction sets into small stand-alone interchanges,
``worker`` runs pyx12 on them (in worker processes), ``run`` maps pyx12's errors back to
findings with positions in the original files. The rule codes live in
:mod:`validator.rules.ig`.

This package's ``__init__`` stays import-light: worker processes import
:mod:`validator.ig.worker` only (pyx12 and the standard library, no polars).
"""
