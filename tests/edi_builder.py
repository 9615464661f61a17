"""The one builder of the 837 files the tests check (fictional data only).

From the outside in:

* :func:`edi` joins segments into the text of a file (``~`` and a newline after each
  segment by default; other delimiters on request).
* :func:`interchange` puts ISA/GS ... GE/IEA around transaction sets (:func:`isa` is the ISA
  alone); :func:`transaction` is one ST ... SE with a correct SE01, and :func:`fix_counts`
  recounts the SE01s of an edited interchange.
* The 837 body: :func:`header` (BHT, submitter, receiver), :func:`hierarchy` (the HL loops of
  billing providers, subscribers and patients), :func:`billing`, :func:`subscriber`,
  :func:`patient`, and the claims: :func:`claim_loop` assembles a 2300 loop and its service
  lines (:func:`sv1`, :func:`sv2`, :func:`sv3`), :func:`claim` makes a clean 837P/I/D claim.
* Whole files: :func:`build` / :func:`build_multi` (the generic-rule tests: every part has a
  clean default, a test replaces only the segment it is about), :func:`fields_edi` (claims
  described by :class:`ClaimFields`: the KP scenario samples and the ruleset test cases) and
  :func:`phi_edi` (claims described by :class:`PhiClaim`: the report tests, which choose
  names, member IDs and birth dates).

``BODY_837P`` is the minimal 837P body of :func:`transaction`'s default set (BHT .. one
claim), written out so that tests can name its segments' positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

VERSION = {"P": "005010X222A1", "I": "005010X223A2", "D": "005010X224A2"}

# -- Envelope --------------------------------------------------------------------------------

# A minimal 5010 837P body (BHT .. one claim) in "*" / ":" / "~" notation, one segment a line.
BODY_837P = """BHT*0019*00*B1*20250315*1200*CH
NM1*41*2*SUNRISE BILLING*****46*S01
PER*IC*DESK*TE*2145550100
NM1*40*2*AETNA*****46*60054
HL*1**20*1
NM1*85*2*CLINIC*****XX*1234567893
N3*1 MAIN ST
N4*DALLAS*TX*752014321
REF*EI*751234567
HL*2*1*22*0
SBR*P*18*******CI
NM1*IL*1*DOE*JOHN****MI*W1
NM1*PR*2*AETNA*****PI*60054
CLM*{claim}*100***11:B:1*Y*A*Y*Y
HI*ABK:J069
LX*1
SV1*HC:99213*100*UN*1*11**1
DTP*472*D8*20250303"""


def isa(isa13: str = "000000001", isa11: str = "^", isa12: str = "00501", *, sender: str = "S01",
        receiver: str = "R01", date: str = "250315", time: str = "1200", usage: str = "P") -> str:
    """A well-formed 106-character ISA (without terminator) in ``*``/``:`` notation."""
    return "*".join(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ",
                     receiver.ljust(15), date, time, isa11, isa12, isa13, "0", usage, ":"])


def transaction(st02: str = "0001", version: str = "005010X222A1",
                body: str | Sequence[str] | None = None, claim: str = "C1",
                se01: int | None = None) -> list[str]:
    """ST..SE around ``body`` (segments, or one segment a line; default: ``BODY_837P`` with
    ``claim`` as CLM01), with a correct SE01 unless ``se01`` is given."""
    body = body or BODY_837P.format(claim=claim)
    segs = [f"ST*837*{st02}*{version}", *(body.splitlines() if isinstance(body, str) else body)]
    return [*segs, f"SE*{len(segs) + 1 if se01 is None else se01}*{st02}"]


def interchange(*sets: list[str], isa13: str = "000000001", gs06: str = "1",
                version: str = "005010X222A1", isa_text: str | None = None, sender: str = "S01",
                receiver: str = "R01", date: str = "20250315", time: str = "1200",
                isa_date: str | None = None, usage: str = "P") -> list[str]:
    """ISA/GS around the given transaction sets (default: one :func:`transaction`), with
    correct GE/IEA trailers. ``date`` is GS04; the ISA's date is its last six digits unless
    ``isa_date`` is given. ``isa_text`` replaces the whole ISA."""
    sets = sets or (transaction(version=version),)
    head = isa_text or isa(isa13, sender=sender, receiver=receiver, date=isa_date or date[2:],
                           time=time, usage=usage)
    return [head, f"GS*HC*{sender}*{receiver}*{date}*{time}*{gs06}*X*{version}",
            *(seg for t in sets for seg in t), f"GE*{len(sets)}*{gs06}", f"IEA*1*{isa13}"]


def edi(segments: Sequence[str], term: str = "~", after: str = "\n", elem: str = "*",
        comp: str = ":") -> str:
    """Join segments with ``term`` + ``after``; optionally swap the ``*``/``:`` delimiters."""
    text = (term + after).join(segments) + term + after
    return text.translate(str.maketrans({"*": elem, ":": comp})) if (elem, comp) != ("*", ":") \
        else text


def fix_counts(segs: Sequence[str]) -> list[str]:
    """Copy of ``segs`` with the SE01 of every transaction set recounted."""
    out, start = list(segs), None
    for i, s in enumerate(out):
        if s.startswith("ST*"):
            start = i
        elif s.startswith("SE*") and start is not None:
            parts = s.split("*")
            parts[1] = str(i - start + 1)
            out[i] = "*".join(parts)
            start = None
    return out


# -- 837 body: header, HL hierarchy, parties ----------------------------------------------------


def header(bht03: str = "BATCH1", date: str = "20250101", *,
           submitter: tuple[str, str] = ("ACME BILLING", "ACME01"),
           contact: tuple[str, str] = ("EDI DESK", "8005551212"),
           receiver: tuple[str, str] = ("CLEARINGHOUSE", "CH01")) -> list[str]:
    """BHT, the submitter (1000A NM1 and PER: ``(name, phone)``) and the receiver (1000B);
    ``submitter`` and ``receiver`` are ``(name, ID)``."""
    return [f"BHT*0019*00*{bht03}*{date}*1200*CH",
            f"NM1*41*2*{submitter[0]}*****46*{submitter[1]}",
            f"PER*IC*{contact[0]}*TE*{contact[1]}",
            f"NM1*40*2*{receiver[0]}*****46*{receiver[1]}"]


# A subscriber group: (subscriber segments, patient segments or None, claims).
Group = tuple[Sequence[str], Sequence[str] | None, Sequence[Sequence[str]]]


def hierarchy(providers: Sequence[tuple[Sequence[str], Sequence[Group]]]) -> list[str]:
    """The HL loops: ``providers`` is [(2010AA segments, [(subscriber segments, patient
    segments or None, [claim segments, …]), …]), …]; each gets its HL, numbered in order."""
    body: list[str] = []
    hl = 0
    for bill, groups in providers:
        hl += 1
        bill_hl = hl
        body += [f"HL*{hl}**20*1", *bill]
        for sub, pat, claims in groups:
            hl += 1
            body += [f"HL*{hl}*{bill_hl}*22*{0 if pat is None else 1}", *sub]
            if pat is not None:
                hl += 1
                body += [f"HL*{hl}*{hl - 1}*23*0", *pat]
            for c in claims:
                body += list(c)
    return body


def address(street: str, city: str, state: str, zip_: str) -> list[str]:
    return [f"N3*{street}", f"N4*{city}*{state}*{zip_}"]


def npi(base9: str) -> str:
    """A valid NPI (Luhn over the 80840 prefix) from 9 digits."""
    total = 0
    for i, ch in enumerate(reversed("80840" + base9)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return base9 + str((10 - total % 10) % 10)


BILLING_NPI = npi("123456789")
RENDERING_NPI = npi("198765432")
FACILITY_NPI = npi("155555555")
HOUSTON = ("42 OAK AVE", "HOUSTON", "TX", "770301111")


def billing(name: str = "NORTHSIDE CLINIC", *, npi: str = BILLING_NPI, street: str = "123 MAIN ST",
            city: str = "HOUSTON", state: str = "TX", zip: str = "770301234",
            ref: str = "REF*EI*741234567", taxonomy: str | None = "207Q00000X") -> list[str]:
    """2010AA segments, after the 2000A PRV (none when ``taxonomy`` is None)."""
    return [*([f"PRV*BI*PXC*{taxonomy}"] if taxonomy else []),
            f"NM1*85*2*{name}*****XX*{npi}", *address(street, city, state, zip), ref]


def subscriber(sbr: str = "SBR*P*18*GRP01******CI", *, has_patient: bool = False,
               birth: str = "19800115", member: str = "W123456789",
               name: tuple[str, str] = ("DOE", "JOHN"), sex: str = "M",
               home: tuple[str, str, str, str] = HOUSTON,
               payer: tuple[str, str] = ("ACME HEALTH", "12345"),
               payer_address: tuple[str, str, str, str] | None = None) -> list[str]:
    """The SBR and the 2010BA/2010BB segments (the HL is added by :func:`hierarchy`).
    ``has_patient`` drops SBR02 = 18 (the subscriber is not the patient)."""
    if has_patient and "*18*" in sbr:
        sbr = sbr.replace("*18*", "**", 1)
    return [sbr, f"NM1*IL*1*{name[0]}*{name[1]}****MI*{member}", *address(*home),
            f"DMG*D8*{birth}*{sex}", f"NM1*PR*2*{payer[0]}*****PI*{payer[1]}",
            *(address(*payer_address) if payer_address else [])]


def patient(birth: str = "20100301", rel: str = "19", *, name: tuple[str, str] = ("DOE", "JANE"),
            sex: str = "F", home: tuple[str, str, str, str] = HOUSTON) -> list[str]:
    """The 2000C PAT and the 2010CA segments."""
    return [f"PAT*{rel}", f"NM1*QC*1*{name[0]}*{name[1]}", *address(*home),
            f"DMG*D8*{birth}*{sex}"]


# -- Claims -----------------------------------------------------------------------------------


def sv1(code: str, charge: str | int, *, pos: str = "", pointers: str = "1",
        emergency: bool = False) -> str:
    """837P service line: SV105 place of service (when it differs from the claim's),
    SV107 diagnosis pointers, SV109 emergency indicator."""
    return f"SV1*HC:{code}*{charge}*UN*1*{pos}**{pointers}" + ("**Y" if emergency else "")


def sv2(revenue: str, code: str, charge: str | int) -> str:
    """837I service line."""
    return f"SV2*{revenue}*HC:{code}*{charge}*UN*1"


def sv3(code: str, charge: str | int) -> str:
    """837D service line."""
    return f"SV3*AD:{code}*{charge}*11***1*****1"


def claim_loop(clm: str, *, head: Sequence[str] = (), hi: Sequence[str] = (),
               providers: Sequence[str] = (), lines: Sequence[Sequence[str]] = ()) -> list[str]:
    """One claim: the CLM, what follows it (DTP/CL1/AMT/REF…), the HI segments, the claim's
    providers, then each service line (a list of segments after its LX, numbered here)."""
    out = [clm, *head, *hi, *providers]
    for i, segs in enumerate(lines, 1):
        out += [f"LX*{i}", *segs]
    return out


def claim(kind: str = "P", pcn: str = "PCN001", *, total: str = "150",
          charges: Sequence[str] = ("100", "50"), date: str = "20240115",
          clm: str | None = None, head: Sequence[str] = (), hi: str | None = None,
          lines: Sequence[Sequence[str]] | None = None) -> list[str]:
    """A clean 837P/I/D claim (2300 + 2400 loops) with a rendering/attending provider and one
    service line a charge. ``head`` goes after the CLM (DTP/REF…); ``lines`` replaces the
    service lines (each a list of segments after its LX)."""
    kind = kind.upper()
    pre: list[str] = []
    if kind == "P":
        clm = clm or f"CLM*{pcn}*{total}***11:B:1*Y*A*Y*Y"
        hi = hi or "HI*ABK:J069*ABF:R509"
        prov = [f"NM1*82*1*SMITH*ANNA****XX*{RENDERING_NPI}", "PRV*PE*PXC*207Q00000X"]
        codes = ("99213", "36415", "85025", "81002")
        lines = lines or [[sv1(codes[i % 4], c, pointers="1" if i == 0 else "1:2"),
                           f"DTP*472*D8*{date}"] for i, c in enumerate(charges)]
    elif kind == "I":
        clm = clm or f"CLM*{pcn}*{total}***13:A:1**A*Y*Y"
        hi = hi or "HI*ABK:J069"
        prov = [f"NM1*71*1*SMITH*ANNA****XX*{RENDERING_NPI}"]
        revs = (("0450", "99283"), ("0300", "85025"), ("0300", "36415"), ("0320", "71046"))
        lines = lines or [[sv2(*revs[i % 4], c), f"DTP*472*D8*{date}"]
                          for i, c in enumerate(charges)]
        pre = [f"DTP*434*RD8*{date}-{date}", "CL1*1*7*01"]
    else:
        clm = clm or f"CLM*{pcn}*{total}***11:B:1*Y*A*Y*Y"
        hi = hi or "HI*ABK:K0251"
        prov = [f"NM1*82*1*SMITH*ANNA****XX*{RENDERING_NPI}", "PRV*PE*PXC*1223G0001X"]
        codes = ("D0120", "D1110", "D0274", "D2391")
        lines = lines or [[sv3(codes[i % 4], c), f"DTP*472*D8*{date}"]
                          for i, c in enumerate(charges)]
    return claim_loop(clm, head=[*pre, *head], hi=[hi], providers=prov, lines=lines)


# -- Whole files: the generic-rule tests ------------------------------------------------------


def build_multi(kind: str, providers: Sequence[tuple[Sequence[str], Sequence[Group]]],
                bht_date: str = "20250101") -> str:
    """A one-ISA/GS/ST interchange with several billing providers and subscribers
    (``providers`` as for :func:`hierarchy`)."""
    version = VERSION[kind.upper()]
    body = [*header("BATCH1", bht_date), *hierarchy(providers)]
    return edi(interchange(transaction("0001", version, body), version=version, sender="SUBMITTER",
                           receiver="RECEIVER", date=bht_date, isa_date="250101"))


def build(kind: str = "P", *, claims: Sequence[Sequence[str]] | None = None,
          billing_segs: Sequence[str] | None = None, subscriber_segs: Sequence[str] | None = None,
          patient_segs: Sequence[str] | None = None, bht_date: str = "20250101") -> str:
    """A one-ISA/GS/ST interchange: one billing provider, one subscriber (and patient)."""
    kind = kind.upper()
    has_patient = patient_segs is not None
    sub = subscriber_segs if subscriber_segs is not None else subscriber(has_patient=has_patient)
    group: Group = (sub, patient_segs, claims if claims is not None else [claim(kind)])
    bill = billing_segs if billing_segs is not None else billing()
    return build_multi(kind, [(bill, [group])], bht_date)


# -- Whole files: claims described by ClaimFields (KP scenarios, ruleset test cases) ----------

CIGNA = ("P.O. BOX 188061", "CHATTANOOGA", "TN", "374228061")
KPIC = ("P.O. BOX 30547", "SALT LAKE CITY", "UT", "841300547")
CITY = {"FL": ("MIAMI", "331110000"), "TX": ("DALLAS", "752010000"), "OR": ("PORTLAND", "972010000"),
        "CA": ("LOS ANGELES", "900120000"), "CO": ("DENVER", "802020000"),
        "MD": ("BALTIMORE", "212010000"), "GA": ("ATLANTA", "303030000"),
        "VA": ("RICHMOND", "232190000"), "AZ": ("PHOENIX", "850040000"),
        "NC": ("CHARLOTTE", "282020000")}


@dataclass
class Line:
    procedure: str = "99283"
    pos: str | None = None  # 837P SV105, only when it differs from CLM05-1
    revenue: str = "0450"  # 837I SV201
    charge: int = 100
    emergency: bool = False  # 837P SV109 = Y


@dataclass(kw_only=True)
class ClaimFields:
    """What a test claim carries. Keyword-only: each helper's own class (the KP scenarios'
    ``Scenario``, the ruleset cases' ``Claim``) declares the claim ID and its expectations,
    which come first."""

    plan: str | None = "KAISER NCAL HMO"  # SBR04
    sbr09: str = "CI"
    payer_name: str = "CIGNA MEDICAL CLAIMS"
    payer_id: str = "62308"
    payer_address: tuple[str, str, str, str] | None = CIGNA
    member_id: str = "KPM100001"
    date: str = "20230315"  # 837P line DTP*472 / 837I statement start
    statement_to: str | None = None  # 837I DTP*434 end (default: date)
    pos: str = "23"  # 837P CLM05-1
    tob: str = "13"  # 837I CLM05-1 (bill type)
    cl101: str | None = "1"  # 837I admission type
    lines: list[Line] = field(default_factory=lambda: [Line()])
    line_date: str | None = None  # the lines' DTP*472 (default: date)
    f5: str | None = None  # AMT*F5 (837P only: the 837I 2300 loop has no AMT*F5)
    value_fc: str | None = None  # 837I HI*BE:FC (patient paid amount value code)
    facility_state: str | None = "TX"
    billing_state: str = "FL"


@dataclass(frozen=True)
class Names:
    """Who sends the file and what the providers are called."""

    sender: str  # ISA06, GS02
    submitter: str  # 1000A NM103
    submitter_id: str  # 1000A NM109
    provider: str  # "<provider> MEDICAL GROUP", "<provider> URGENT CARE"


def _fields_facility(c: ClaimFields, names: Names) -> list[str]:
    if not c.facility_state:
        return []
    city, zip_ = CITY[c.facility_state]
    return [f"NM1*77*2*{names.provider} URGENT CARE*****XX*1234567893",
            *address("200 CARE WAY", city, c.facility_state, zip_)]


def _fields_claim(c: ClaimFields, kind: str, names: Names) -> list[str]:
    total = sum(line.charge for line in c.lines)
    day = c.line_date or c.date
    facility = _fields_facility(c, names)
    if kind == "P":
        return claim_loop(
            f"CLM*{c.claim_id}*{total}***{c.pos}:B:1*Y*A*Y*Y",
            head=[f"AMT*F5*{c.f5}"] if c.f5 is not None else [], hi=["HI*ABK:R69"],
            providers=facility,
            lines=[[sv1(line.procedure, line.charge, pos=line.pos or "", emergency=line.emergency),
                    f"DTP*472*D8*{day}"] for line in c.lines])
    if c.f5 is not None:
        raise ValueError(f"{c.claim_id}: the 837I claim loop has no AMT*F5 (patient paid)")
    return claim_loop(
        f"CLM*{c.claim_id}*{total}***{c.tob}:A:1**A*Y*Y",
        head=[f"DTP*434*RD8*{c.date}-{c.statement_to or c.date}",
              *([f"CL1*{c.cl101}*7*01"] if c.cl101 else [])],
        hi=["HI*ABK:R69", *([f"HI*BE:FC:::{c.value_fc}"] if c.value_fc else [])],
        providers=["NM1*71*1*DOE*JOHN****XX*1234567893", *facility],
        lines=[[sv2(line.revenue, line.procedure, line.charge), f"DTP*472*D8*{day}"]
               for line in c.lines])


def fields_edi(claims: Sequence[ClaimFields], kind: str, names: Names, *, isa13: str, gs06: str,
               bht03: str) -> str:
    """One interchange with one 837P/I transaction holding every claim, each under its own
    billing provider and subscriber."""
    providers = []
    for c in claims:
        city, zip_ = CITY[c.billing_state]
        bill = billing(f"{names.provider} MEDICAL GROUP", npi="1234567893", street="100 MAIN ST",
                       city=city, state=c.billing_state, zip=zip_, ref="REF*EI*123456789",
                       taxonomy=None)
        sub = subscriber(f"SBR*P*18**{c.plan or ''}*****{c.sbr09}", member=c.member_id,
                         name=("DOE", "JANE"), home=("1 ELM ST", "MIAMI", "FL", "331010000"),
                         birth="19800101", sex="F", payer=(c.payer_name, c.payer_id),
                         payer_address=c.payer_address)
        providers.append((bill, [(sub, None, [_fields_claim(c, kind, names)])]))
    body = [*header(bht03, "20240115", submitter=(names.submitter, names.submitter_id),
                    contact=("BILLING OFFICE", "5555550100"),
                    receiver=("CLEARINGHOUSE", "CLEARINGHOUSE")),
            *hierarchy(providers)]
    return edi(interchange(transaction("0001", VERSION[kind], body), isa13=isa13, gs06=gs06,
                           version=VERSION[kind], sender=names.sender, receiver="CLEARINGHOUSE",
                           date="20240115", usage="T"))


# -- Whole files: claims described by PhiClaim (the report tests) ------------------------------

RENO = ("12 MAIN ST", "RENO", "NV", "89502")


@dataclass
class PhiClaim:
    """An 837P claim with the PHI a report test looks for (or must not find)."""

    claim_id: str
    charge: str = "100"
    patient_last: str | None = None  # None: the subscriber is the patient
    patient_first: str | None = None
    subscriber_last: str = "SAMPLEMAN"
    subscriber_first: str = "ROBERTA"
    member_id: str = "XQ9876543210"
    subscriber_birth: str = "19610314"
    patient_birth: str = "20100515"
    payer_name: str = "ACME HEALTH PLAN"
    payer_id: str = "12345"
    plan: str = "ACME CHOICE PPO"
    unknown_segment: bool = False  # adds ``ZZZ*1`` inside the claim (ENV151, claim-level)


def _phi_group(c: PhiClaim) -> Group:
    own = c.patient_last is None
    sub = subscriber(f"SBR*P*18*GRP001*{c.plan}*****CI", has_patient=not own, member=c.member_id,
                     name=(c.subscriber_last, c.subscriber_first), home=RENO,
                     birth=c.subscriber_birth, sex="F", payer=(c.payer_name, c.payer_id))
    pat = None if own else patient(c.patient_birth, name=(c.patient_last, c.patient_first or ""),
                                   sex="M", home=RENO)
    clm = claim_loop(f"CLM*{c.claim_id}*{c.charge}***11:B:1*Y*A*Y*Y",
                     head=["ZZZ*1"] if c.unknown_segment else [], hi=["HI*ABK:R69"],
                     lines=[[sv1("99213", c.charge), "DTP*472*D8*20260115"]])
    return sub, pat, [clm]


def phi_edi(claims: Sequence[PhiClaim], se_offset: int = 0, control: str = "000000001") -> str:
    """One interchange, one 837P transaction set holding ``claims`` under one billing
    provider; ``se_offset`` makes SE01 wrong (ENV131) when not 0.

    The ISA is followed by an empty segment (``ISA…:~~``), as these files have always had:
    the reader skips it, and the report tests' positions count without it."""
    bill = billing("DESERT CLINIC LLC", npi="1234567893", street="1 CLINIC WAY", city="RENO",
                   state="NV", zip="895021234", ref="REF*EI*123456789", taxonomy=None)
    body = [*header("0001", "20260701", submitter=("ACME BILLING", "ACME0001"),
                    receiver=("CLEARINGHOUSE", "RECEIVER01")),
            *hierarchy([(bill, [_phi_group(c) for c in claims])])]
    se01 = len(body) + 2 + se_offset if se_offset else None
    parties = {"sender": "SUBMITTER01", "receiver": "RECEIVER01"}
    return edi(interchange(transaction("0001", VERSION["P"], body, se01=se01), isa13=control,
                           gs06=str(int(control)), date="20260701", **parties,
                           isa_text=isa(control, date="260701", **parties) + "~"))
