"""The native implementation-guide (SNIP 2) engine: pyx12's 5010 837P/837I maps compiled
into tables, checked with whole-column polars work.

- :mod:`.compile` (build time only, imports pyx12) writes the tables under
  ``validator/data/ig/`` (``python -m validator.rules.ig.native.compile``);
- :mod:`.guide` loads them (no XML, no pyx12 at run time);
- :mod:`.walk` gives every segment its map node (pyx12's loop assignment, as a transition
  table) and the segment/loop errors of the walk (IK304-1..5);
- :mod:`.segcheck` checks elements (IK403-n, IK304-8): a per-node regular expression
  accepts the valid segments in bulk and an exact port of pyx12's element validation
  explains the rest;
- :mod:`.run` turns it all into findings shaped like the pyx12 path's
  (:mod:`validator.rules.ig.run`); :func:`.run.segment_loops` gives other rules every
  segment's loop.

pyx12 stays the reference: the tables are computed with pyx12's own objects and walker,
and the tests compare the two engines.
"""
