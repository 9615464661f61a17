"""Implementation-guide validation (WEDI SNIP level 2) through pyx12: the IG2xx codes.

One check, :func:`ig_validate`, runs pyx12 over every supported 837 transaction set
(:mod:`validator.ig`) and raises all the codes below. It runs only when
``ctx.options.ig`` is true (the CLI's ``--ig``, on by default; ``--no-ig`` skips it).
"""

from __future__ import annotations

import polars as pl

from ..api import Context, declare, rule

FAMILY = "ig"

IG201 = declare(
    "IG201", "Envelope error reported by pyx12", severity="warning", snip=1, family=FAMILY,
    doc="""
    ## What it does
    Reports interchange, group and transaction-set level errors pyx12 finds while it
    validates a transaction set (its 999/TA1 codes `IK502-*`, `AK905-*`, `TA105-*` are in
    the finding's `ig_code`), e.g. an SE01 segment count that does not match.

    ## Why is this bad?
    The receiver's translator rejects the transaction set or the whole group.

    ## Example
    `SE*40*0001~` closing a transaction set of 41 segments: `IK502-4`.

    ## How to fix
    Regenerate the envelope. The ENV1xx rules report the same problems with more detail,
    which is why this code is a warning; `--ignore IG201` silences the duplicates.
    """,
)
IG210 = declare(
    "IG210", "No map for this implementation guide", severity="info", snip=2,
    family=FAMILY,
    doc="""
    ## What it does
    Notes each supported transaction set no implementation-guide map covers — today every
    5010 837D (`005010X224A2`): pyx12 4.0 ships maps for 837P `005010X222A1` and 837I
    `005010X223A2` only, and the native engine is compiled from them — and every set whose
    version names no guide (`005010`, reported as FILE013). One info finding per
    transaction set; the other rules still run.

    ## Why is this bad?
    It is not an error in the file, but the implementation-guide (SNIP 2) checks did not
    run on that transaction set, so a reader of the report should know.

    ## Example
    `ST*837*0001*005010X224A2~` (837 dental).

    ## How to fix
    Nothing to fix in the file. Validate dental claims with another SNIP 2 tool if needed.
    """,
)
IG211 = declare(
    "IG211", "Version validated against another version's pyx12 map", severity="info", snip=2,
    family=FAMILY,
    doc="""
    ## What it does
    Notes each transaction set whose version is an errata or base version of a guide
    pyx12 has a map for (`005010X222A2` or `005010X222` → the `005010X222A1` map,
    `005010X223A3` or `005010X223` → the `005010X223A2` map). The transaction set is
    validated against that map.

    ## Why is this bad?
    It is not an error. The versions differ in a few code lists and situational rules,
    which pyx12 then checks by the other version's rules: a finding that contradicts the
    errata may be a false positive, and an errata-only requirement is not checked.

    ## Example
    `GS*HC*...*005010X222A2~` / `ST*837*0001*005010X222A2~`.

    ## How to fix
    Nothing to fix; check what the receiver's companion guide requires.
    """,
)
IG299 = declare(
    "IG299", "Implementation-guide validator failed on a transaction set", severity="warning",
    snip=2, family=FAMILY,
    doc="""
    ## What it does
    Reports a transaction set that pyx12 could not validate (it raised an error, or its
    worker process died); the reason is in the message. The rest of the batch is
    validated as usual.

    ## Why is this bad?
    The implementation-guide checks did not run on that transaction set. A transaction
    set pyx12 cannot walk is usually badly malformed (an ISA that is not 16 fields, …).

    ## Example
    `ISA*00*...` with 15 elements: pyx12 cannot read the interchange.

    ## How to fix
    Fix the envelope errors reported by the ENV1xx rules; if the message names a pyx12
    bug, report it with the file (PHI removed).
    """,
)


# applies to all three types: 837D transaction sets get their IG210 note from this check.
@rule("IG200", "Implementation-guide error (pyx12)", severity="error", snip=2, family=FAMILY,
      raises=("IG201", "IG210", "IG211", "IG299"), reads=("*",))
def ig_validate(ctx: Context) -> pl.DataFrame:
    """
    ## What it does
    Validates each 5010 837P/837I transaction set against its implementation guide with
    pyx12 and reports every segment or element error it finds: a required segment or
    loop missing, a segment out of place or repeated too often, a code value not allowed
    by the guide, an element too long or too short, a bad date, a syntax rule between
    elements broken. Each finding gives the segment index in the file, the segment ID, the
    loop (`loop`), the element position (`CLM05-1`), pyx12's 999 error code (`ig_code`,
    e.g. `IK304-3` required segment missing, `IK403-7` invalid code value) and pyx12's
    message.

    ## Why is this bad?
    A clearinghouse validates SNIP levels 1-2 first and rejects the transaction set
    (999 with `IK5*R`) when the file does not follow the guide: none of its claims reach
    the payer.

    ## Example
    `CLM*A1*100***00:B:1*Y*A*Y*Y~` — `00` is not a place-of-service code: `IK403-7` at
    `CLM05-1`, loop 2300. `DTP*472*D9*20260115~` — `D9` is not a date format qualifier:
    `IK403-7` at `DTP02`, loop 2400.

    ## How to fix
    Correct the segment as the guide requires (the message says what pyx12 expected);
    usually the billing system's export mapping for that field.
    """
    if ctx.options.ig_engine == "pyx12":
        from .run import validate
    else:
        from .native.run import validate

    return validate(ctx)
