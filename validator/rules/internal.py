"""Internal findings: a check that could not run is reported, never silently skipped."""

from __future__ import annotations

from .api import declare

INT001 = declare("INT001", "A check failed to run", severity="error", snip=1, family="internal", doc="""
    ## What it does
    Reports, once per file, a rule whose check stopped with an internal error. The
    message names the rule and the error; every other rule still ran and is reported.
    An annotator (the code adding per-claim objects such as `kp` to the output) that
    fails is reported the same way, and the claims then lack its object.

    ## Why is this bad?
    The failed rule's edits were not applied, so claims it would have flagged may look
    clean. The run ends with exit code 2 (internal error) after writing its outputs.

    ## Example
    `rule SIT410 failed (ValueError: ...); its checks did not run on this file`

    ## How to fix
    Run again with `-vv` to see the traceback and report it with the file's shape (not its
    data). Until fixed, `--ignore` the failing rule to get exit codes 0/1 back (a failing
    annotator cannot be switched off).
    """)
