#!/usr/bin/env python3
"""Synthetic, valid X12 5010 837P / 837I claim files for benchmarks (stdlib only).

CLI::

    python bench/generate.py --type P --claims 100000 --out /tmp/p100k.837
    python bench/generate.py --type I --claims 10000 --out /tmp/i10k.837 --gzip

Module::

    from bench.generate import generate, write
    text = generate("P", 200, seed=7)
    stats = write("I", 10_000, "/tmp/i10k.837")

One ISA/GS envelope; ST/SE transactions of at most ``claims_per_st`` claims. Output is
deterministic for a given seed and set of options.
"""

from __future__ import annotations

import argparse
import gzip as gz
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

VERSIONS = {"P": "005010X222A1", "I": "005010X223A2"}
DEFAULT_LINES = {"P": (1, 4), "I": (2, 5)}

SERVICE_FIRST = date(2023, 1, 1).toordinal()
SERVICE_LAST = date(2026, 6, 30).toordinal()
CREATED = date(2026, 7, 1)  # BHT04/GS04: after every service date
SENDER_ID = "SUBMITTER01"
RECEIVER_ID = "CLAIMSVALID"

# States where Kaiser Permanente operates; billing providers mostly sit outside them.
KP_STATES = ("CA", "CO", "DC", "GA", "HI", "MD", "OR", "VA", "WA")

# state -> (city, ZIP5) choices
CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "TX": (("HOUSTON", "77030"), ("DALLAS", "75201"), ("AUSTIN", "78701"),
           ("SAN ANTONIO", "78229"), ("EL PASO", "79902")),
    "FL": (("MIAMI", "33136"), ("ORLANDO", "32806"), ("TAMPA", "33606"),
           ("JACKSONVILLE", "32207")),
    "NY": (("NEW YORK", "10016"), ("BROOKLYN", "11201"), ("BUFFALO", "14203"),
           ("ALBANY", "12208")),
    "IL": (("CHICAGO", "60611"), ("NAPERVILLE", "60540"), ("PEORIA", "61603")),
    "AZ": (("PHOENIX", "85006"), ("TUCSON", "85719"), ("SCOTTSDALE", "85251")),
    "NV": (("LAS VEGAS", "89102"), ("RENO", "89502"), ("HENDERSON", "89052")),
    "OH": (("COLUMBUS", "43210"), ("CLEVELAND", "44106"), ("CINCINNATI", "45219")),
    "PA": (("PHILADELPHIA", "19104"), ("PITTSBURGH", "15213")),
    "NC": (("CHARLOTTE", "28204"), ("RALEIGH", "27607")),
    "MI": (("DETROIT", "48201"), ("ANN ARBOR", "48109")),
    "NJ": (("NEWARK", "07103"), ("HACKENSACK", "07601")),
    "TN": (("NASHVILLE", "37203"), ("MEMPHIS", "38103")),
    "MO": (("SAINT LOUIS", "63110"), ("KANSAS CITY", "64108")),
    "MN": (("MINNEAPOLIS", "55415"), ("ROCHESTER", "55902")),
    "UT": (("SALT LAKE CITY", "84111"), ("PROVO", "84604")),
    "CA": (("OAKLAND", "94611"), ("SAN FRANCISCO", "94115"), ("LOS ANGELES", "90027"),
           ("SACRAMENTO", "95825"), ("SAN DIEGO", "92120")),
    "CO": (("DENVER", "80205"), ("AURORA", "80012")),
    "DC": (("WASHINGTON", "20005"),),
    "GA": (("ATLANTA", "30309"), ("MARIETTA", "30060")),
    "HI": (("HONOLULU", "96819"),),
    "MD": (("BALTIMORE", "21201"), ("ROCKVILLE", "20852")),
    "OR": (("PORTLAND", "97227"), ("SALEM", "97301")),
    "VA": (("FAIRFAX", "22031"), ("RICHMOND", "23219")),
    "WA": (("SEATTLE", "98112"), ("SPOKANE", "99204")),
}
PROVIDER_STATES = tuple(s for s in CITIES if s not in KP_STATES)

STREETS = ("MAIN ST", "OAK AVE", "MAPLE DR", "CEDAR LN", "ELM ST", "PARK BLVD", "LAKE RD",
           "HILLCREST DR", "WASHINGTON AVE", "MEDICAL PKWY", "CENTER ST", "RIVER RD",
           "SUNSET BLVD", "HIGHLAND AVE", "PINE ST", "COLLEGE AVE", "MARKET ST", "BROADWAY")
LAST_NAMES = ("SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
              "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON",
              "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON",
              "WHITE", "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER",
              "YOUNG", "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES",
              "GREEN", "ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL",
              "CARTER", "ROBERTS", "OCONNOR", "PATEL", "KIM", "CHEN", "OKAFOR", "SCHMIDT")
FIRST_NAMES = {
    "F": ("MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN", "JESSICA",
          "SARAH", "KAREN", "NANCY", "LISA", "MARIA", "EMILY", "ASHLEY", "OLIVIA", "SOPHIA",
          "EMMA", "GRACE", "CHLOE", "ANA", "PRIYA", "MEI"),
    "M": ("JAMES", "ROBERT", "JOHN", "MICHAEL", "DAVID", "WILLIAM", "RICHARD", "JOSEPH",
          "THOMAS", "CHARLES", "DANIEL", "MATTHEW", "ANTHONY", "MARK", "JOSE", "LIAM", "NOAH",
          "ETHAN", "LUCAS", "ARJUN", "WEI", "CARLOS"),
}
FACILITY_SUFFIXES = ("CLINIC", "MEDICAL PLAZA", "HEALTH CENTER", "IMAGING", "SURGERY CENTER")
ORG_WORDS = ("NORTHSIDE", "LAKEVIEW", "SUMMIT", "RIVERBEND", "PINE RIDGE", "DESERT SKY",
             "GULF COAST", "LIBERTY", "HERITAGE", "CEDAR PARK", "BAYSHORE", "MESA VERDE",
             "PRAIRIE", "GRANITE", "HARBOR", "MERIDIAN", "TRINITY", "CANYON", "EVERGREEN",
             "CAPITAL", "SILVER STATE", "EMPIRE", "MIDWEST", "SUNBELT")

# --- payers -------------------------------------------------------------------------------
# (name, payer id, street, city, state, zip9, member id prefix, plans[(plan name, SBR09)])
PAYERS: tuple[tuple[str, str, str, str, str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("AETNA", "60054", "PO BOX 981106", "EL PASO", "TX", "799981106", "W",
     (("AETNA CHOICE POS II", "CI"), ("AETNA OPEN ACCESS MANAGED CHOICE", "CI"),
      ("AETNA HMO", "HM"))),
    ("UNITED HEALTHCARE", "87726", "PO BOX 30555", "SALT LAKE CITY", "UT", "841300555", "9",
     (("UHC CHOICE PLUS", "CI"), ("UHC NAVIGATE HMO", "HM"), ("UHC OPTIONS PPO", "CI"))),
    ("CIGNA", "62308", "P.O. BOX 188061", "CHATTANOOGA", "TN", "374228061", "U",
     (("CIGNA OPEN ACCESS PLUS", "CI"), ("CIGNA LOCALPLUS", "CI"), ("CIGNA PPO", "CI"))),
    ("BLUE CROSS BLUE SHIELD OF TEXAS", "84980", "PO BOX 660044", "DALLAS", "TX", "752660044",
     "XOF", (("BLUE CHOICE PPO", "BL"), ("BLUE ESSENTIALS HMO", "BL"))),
    ("HUMANA", "61101", "PO BOX 14601", "LEXINGTON", "KY", "405124601", "H",
     (("HUMANA NATIONAL POS", "CI"), ("HUMANA CHOICECARE PPO", "CI"))),
    ("UMR", "39026", "PO BOX 30541", "SALT LAKE CITY", "UT", "841300541", "7",
     (("UMR SELF-FUNDED PPO", "CI"),)),
)
PAYER_WEIGHTS = (22, 24, 18, 14, 10, 12)
CIGNA = PAYERS[2]
KPIC = ("KAISER PERMANENTE INSURANCE COMPANY", "94320", "PO BOX 30547", "SALT LAKE CITY", "UT",
        "841300547", "", (("KPIC SELF-FUNDED PPO", "CI"),))
# Kaiser plans routed through Cigna 62308: (SBR04 plan name, SBR09, member home states)
KP_PLANS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("KAISER PERMANENTE NCAL HMO", "HM", ("CA",)),
    ("KAISER PERMANENTE SCAL HMO", "HM", ("CA",)),
    ("KP CO POS 2-TIER", "CI", ("CO",)),
    ("KAISER MAS FLEXIBLE CHOICE", "CI", ("MD", "VA", "DC")),
    ("KAISER GA DUAL CHOICE PPO", "CI", ("GA",)),
    ("KAISER NW DEDUCTIBLE HMO", "HM", ("OR", "WA")),
    ("KP WA ACCESS PPO", "CI", ("WA",)),
    ("KAISER HAWAII HMO", "HM", ("HI",)),
)
KPIC_SHARE = 0.15  # of Kaiser-member subscribers: KPIC self-funded PPO to payer 94320
MSP_FILING = ("12", "13", "14")

# --- clinical content ---------------------------------------------------------------------
# procedure: (code, charge in cents, max units, modifiers to pick from ("" = none))
Proc = tuple[str, int, int, tuple[str, ...]]
# specialty: (name, taxonomy, places of service, procedures, ICD-10 codes)
Specialty = tuple[str, str, tuple[str, ...], tuple[Proc, ...], tuple[str, ...]]

EM_MODS = ("", "", "", "25")
SIDE_MODS = ("RT", "LT")
PRO_SPECIALTIES: tuple[Specialty, ...] = (
    ("FAMILY MEDICINE", "207Q00000X", ("11", "11", "11", "02"),
     (("99213", 12500, 1, EM_MODS), ("99214", 18500, 1, EM_MODS), ("99203", 15000, 1, ("",)),
      ("99204", 22500, 1, ("",)), ("36415", 1500, 1, ("",)), ("85025", 3500, 1, ("",)),
      ("80053", 5500, 1, ("",)), ("81002", 1200, 1, ("",)), ("87880", 3000, 1, ("", "QW")),
      ("90471", 2500, 1, ("",)), ("90686", 4000, 1, ("",)), ("93000", 5000, 1, ("",)),
      ("99396", 22000, 1, ("",))),
     ("J069", "R509", "I10", "E119", "E785", "K219", "Z0000", "J029", "N390", "F329", "R051",
      "Z23")),
    ("URGENT CARE", "261QU0200X", ("20",),
     (("99203", 16000, 1, ("",)), ("99204", 24000, 1, ("",)), ("99213", 13500, 1, EM_MODS),
      ("99214", 19500, 1, EM_MODS), ("87880", 3500, 1, ("QW",)), ("87804", 4500, 2, ("QW",)),
      ("81002", 1200, 1, ("",)), ("71046", 9500, 1, ("",)), ("73610", 8500, 1, SIDE_MODS),
      ("J1885", 1200, 4, ("",)), ("96372", 3500, 1, ("",)), ("12001", 25000, 1, ("",))),
     ("J069", "J029", "R509", "S93401A", "L03115", "H6690", "R1084", "N390", "R051", "B349")),
    ("ORTHOPEDIC SURGERY", "207X00000X", ("11", "11", "22"),
     (("99203", 21000, 1, ("",)), ("99213", 14500, 1, EM_MODS), ("99214", 21500, 1, EM_MODS),
      ("20610", 21000, 1, SIDE_MODS), ("73610", 9000, 1, SIDE_MODS),
      ("73562", 9500, 1, SIDE_MODS), ("29540", 7500, 1, SIDE_MODS),
      ("J3301", 1500, 4, ("",))),
     ("M25561", "M25562", "M1711", "M5450", "S93401A", "M7551", "S83241A")),
    ("PHYSICAL THERAPY", "225100000X", ("11",),
     (("97110", 6000, 4, ("GP",)), ("97140", 5500, 3, ("GP",)), ("97530", 6500, 3, ("GP",)),
      ("97161", 15000, 1, ("GP",)), ("97014", 2500, 1, ("GP",))),
     ("M5450", "M25561", "M6281", "R262", "M1711", "S93401D")),
    ("EMERGENCY MEDICINE", "207P00000X", ("23",),
     (("99283", 20000, 1, EM_MODS), ("99284", 35000, 1, EM_MODS), ("99285", 55000, 1, EM_MODS),
      ("12002", 30000, 1, ("",)), ("93010", 3000, 1, ("",)), ("96374", 15000, 1, ("",))),
     ("R079", "R1084", "S0990XA", "J069", "R509", "N390", "R55", "K529", "R112")),
    ("DIAGNOSTIC RADIOLOGY", "2085R0202X", ("22", "23", "11"),
     (("71046", 3500, 1, ("26",)), ("73610", 3000, 1, ("26",)), ("72148", 9000, 1, ("26",)),
      ("70450", 6000, 1, ("26",)), ("74177", 11000, 1, ("26",))),
     ("R079", "M5450", "S93401A", "R0602", "R519", "R1084")),
    ("PEDIATRICS", "208000000X", ("11", "11", "02"),
     (("99392", 18000, 1, ("",)), ("99393", 18500, 1, ("",)), ("99213", 12000, 1, EM_MODS),
      ("90460", 3000, 2, ("",)), ("90700", 6000, 1, ("",)), ("90707", 9000, 1, ("",)),
      ("87880", 3000, 1, ("QW",)), ("99173", 1500, 1, ("",))),
     ("Z00129", "Z00121", "J069", "H6690", "R509", "Z23", "J029", "B349")),
    ("CARDIOLOGY", "207RC0000X", ("11", "22"),
     (("99214", 22000, 1, EM_MODS), ("99204", 30000, 1, ("",)), ("93000", 6000, 1, ("",)),
      ("93306", 75000, 1, ("", "26")), ("93350", 65000, 1, ("26",)),
      ("93880", 45000, 1, ("",))),
     ("I10", "I480", "I2510", "R079", "R0602", "E785", "I5022")),
    ("PSYCHIATRY", "2084P0800X", ("02", "11"),
     (("90834", 15000, 1, ("", "95")), ("90837", 20000, 1, ("", "95")),
      ("90791", 25000, 1, ("",)), ("99214", 20000, 1, ("",))),
     ("F329", "F411", "F419", "F331", "F4310", "F900")),
)
PRO_SPECIALTY_WEIGHTS = (26, 14, 10, 9, 9, 6, 10, 7, 9)

# institutional line: (revenue code, HCPCS, charge in cents, max units, modifiers)
InstLine = tuple[str, str, int, int, tuple[str, ...]]
# institutional visit kind: (name, CL101 choices, CL102 choices, required lines, extra lines,
#                            ICD-10 codes)
InstKind = tuple[str, tuple[str, ...], tuple[str, ...], tuple[InstLine, ...],
                 tuple[InstLine, ...], tuple[str, ...]]
_INST_EXTRAS: tuple[InstLine, ...] = (
    ("0300", "80053", 18000, 1, ("",)), ("0300", "85025", 9000, 1, ("",)),
    ("0300", "36415", 3500, 1, ("",)), ("0301", "82550", 7500, 1, ("",)),
    ("0320", "71046", 42000, 1, ("",)), ("0350", "70450", 185000, 1, ("",)),
    ("0636", "J1885", 6500, 2, ("",)), ("0636", "J2405", 4500, 4, ("",)),
    ("0250", "J7050", 3000, 2, ("",)), ("0730", "93005", 25000, 1, ("",)),
    ("0260", "96374", 38000, 1, ("",)),
)
INST_KINDS: tuple[InstKind, ...] = (
    ("EMERGENCY", ("1",), ("7",),
     (("0450", "99283", 95000, 1, ("", "25")), ("0450", "99284", 185000, 1, ("", "25")),
      ("0450", "99285", 320000, 1, ("", "25"))),
     _INST_EXTRAS,
     ("R079", "R1084", "S0990XA", "J069", "R509", "N390", "R55", "K529", "R112", "S93401A")),
    ("CLINIC", ("3",), ("1", "2"),
     (("0510", "G0463", 28000, 1, ("",)),),
     _INST_EXTRAS[:4],
     ("I10", "E119", "E785", "J069", "Z0000", "M5450")),
    ("IMAGING", ("3", "2"), ("1", "2"),
     (("0320", "71046", 42000, 1, ("",)), ("0324", "71250", 160000, 1, ("",)),
      ("0610", "72148", 310000, 1, ("",)), ("0402", "76700", 95000, 1, ("",))),
     (("0300", "82565", 6000, 1, ("",)), ("0255", "Q9967", 2500, 10, ("",))),
     ("R079", "R0602", "M5450", "R1084", "R519")),
    ("THERAPY", ("3",), ("1",),
     (("0424", "97161", 42000, 1, ("GP",)),),
     (("0420", "97110", 14000, 4, ("GP",)), ("0420", "97140", 12500, 3, ("GP",)),
      ("0420", "97530", 15000, 3, ("GP",))),
     ("M5450", "M25561", "M6281", "R262", "M1711")),
)
INST_KIND_WEIGHTS = (45, 25, 20, 10)
HOSPITAL_TYPES = (("REGIONAL MEDICAL CENTER", "282N00000X", "13"),
                  ("COMMUNITY HOSPITAL", "282N00000X", "13"),
                  ("MEMORIAL HOSPITAL", "282NC0060X", "85"))
ATTENDING_TAXONOMIES = ("207P00000X", "207R00000X", "207Q00000X", "2085R0202X")


def npi_check_digit(base9: str) -> str:
    """Luhn check digit for an NPI over the '80840' prefix plus the first 9 digits."""
    total = 0
    # With the check digit appended, the rightmost payload digit is the first one doubled.
    for i, ch in enumerate(reversed("80840" + base9)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == npi[9]


def fmt_amount(cents: int) -> str:
    """X12 decimal: 12500 -> '125', 12550 -> '125.5', 8025 -> '80.25'."""
    d, c = divmod(cents, 100)
    if c == 0:
        return str(d)
    if c % 10 == 0:
        return f"{d}.{c // 10}"
    return f"{d}.{c:02d}"


def parse_range(spec: str | tuple[int, int]) -> tuple[int, int]:
    """'1-4' -> (1, 4); '3' -> (3, 3)."""
    if isinstance(spec, tuple):
        lo, hi = spec
    else:
        lo_s, _, hi_s = spec.partition("-")
        lo, hi = int(lo_s), int(hi_s or lo_s)
    if not 1 <= lo <= hi <= 50:
        raise ValueError(f"bad range {spec!r} (need 1 <= lo <= hi <= 50)")
    return lo, hi


@dataclass
class Stats:
    claims: int = 0
    lines: int = 0
    transactions: int = 0
    segments: int = 0
    bytes: int = 0
    kp_claims: int = 0
    seconds: float = 0.0


@dataclass
class _Provider:
    """A billing provider with its clinicians and service facilities (pre-rendered)."""

    head: list[str]  # PRV .. REF*EI of loop 2000A/2010AA (HL is added per use)
    state: str
    pcn_prefix: str
    specialty: Specialty | None
    facility_code: str  # 837I CLM05-1
    fee_mult: float
    round_fees: bool
    fees: dict[str, int] = field(default_factory=dict)  # code -> cents, filled lazily
    clinicians: list[list[str]] = field(default_factory=list)  # 2310B / 2310A segments
    facilities: list[list[str]] = field(default_factory=list)  # 2310C / 2310E segments


class _Generator:
    def __init__(self, kind: str, seed: int, lines: tuple[int, int], kp_share: float,
                 patient_share: float, facility_share: float, amt_share: float) -> None:
        if kind not in VERSIONS:
            raise ValueError("kind must be 'P' or 'I'")
        self.kind = kind
        self.rng = random.Random(seed)
        self.seed = seed
        self._line_counts = list(range(lines[0], lines[1] + 1))
        self._line_weights = [lines[1] - n + 1 for n in self._line_counts]
        self.kp_share = kp_share
        self.patient_share = patient_share
        self.facility_share = facility_share
        self.amt_share = amt_share
        self.claim_seq = 0
        self.stats = Stats()
        self._dates: dict[int, str] = {}
        self._npis: set[str] = set()
        self._patient_seed: tuple[str, str, str] = ("", "", "")  # subscriber last name, N3, N4
        self.providers = [self._provider() for _ in range(300 if kind == "P" else 120)]

    # --- small random helpers -------------------------------------------------------------
    def d8(self, ordinal: int) -> str:
        s = self._dates.get(ordinal)
        if s is None:
            s = self._dates[ordinal] = date.fromordinal(ordinal).strftime("%Y%m%d")
        return s

    def npi(self, first: str) -> str:
        while True:
            base = first + "".join(self.rng.choices("0123456789", k=8))
            npi = base + npi_check_digit(base)
            if npi not in self._npis:
                self._npis.add(npi)
                return npi

    def address(self, state: str, street_only: bool = False) -> tuple[str, str]:
        """(N3, N4) segments for a street address in ``state`` with a 9-digit ZIP."""
        r = self.rng
        city, zip5 = r.choice(CITIES[state])
        n3 = f"N3*{r.randint(100, 9899)} {r.choice(STREETS)}"
        if not street_only and r.random() < 0.15:
            n3 += f"*SUITE {r.randint(1, 6)}{r.randint(0, 5)}0"
        return n3, f"N4*{city}*{state}*{zip5}{r.randint(1, 9999):04d}"

    def person(self, gender: str | None = None) -> tuple[str, str, str]:
        r = self.rng
        g = gender or r.choice("FM")
        return r.choice(LAST_NAMES), r.choice(FIRST_NAMES[g]), g

    # --- reference data -------------------------------------------------------------------
    def _provider(self) -> _Provider:
        r = self.rng
        state = r.choice(KP_STATES) if r.random() < 0.08 else r.choice(PROVIDER_STATES)
        org = r.choice(ORG_WORDS)
        if self.kind == "P":
            spec = r.choices(PRO_SPECIALTIES, PRO_SPECIALTY_WEIGHTS)[0]
            name = f"{org} {spec[0]} {r.choice(('PA', 'PLLC', 'LLC', 'GROUP', 'ASSOCIATES'))}"
            taxonomy, fac_code = spec[1], ""
        else:
            spec = None
            suffix, taxonomy, fac_code = r.choice(HOSPITAL_TYPES)
            name = f"{org} {suffix}"
        n3, n4 = self.address(state, street_only=True)
        head = [f"PRV*BI*PXC*{taxonomy}", f"NM1*85*2*{name}*****XX*{self.npi('1')}", n3, n4,
                f"REF*EI*{r.randint(10, 98)}{r.randint(0, 9999999):07d}"]
        prefix = "".join(r.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=3))
        p = _Provider(head, state, prefix, spec, fac_code, r.uniform(0.8, 1.6), r.random() < 0.5)
        for _ in range(r.randint(1, 8)):
            last, first, _g = self.person()
            if self.kind == "P":
                segs = [f"NM1*82*1*{last}*{first}****XX*{self.npi('1')}"]
                if r.random() < 0.3:
                    segs.append(f"PRV*PE*PXC*{taxonomy}")
            else:
                segs = [f"NM1*71*1*{last}*{first}****XX*{self.npi('1')}"]
                if r.random() < 0.5:
                    segs.append(f"PRV*AT*PXC*{r.choice(ATTENDING_TAXONOMIES)}")
            p.clinicians.append(segs)
        for _ in range(r.randint(1, 3)):
            fac_state = state if r.random() < 0.9 else r.choice(PROVIDER_STATES)
            n3, n4 = self.address(fac_state)
            fname = f"{r.choice(ORG_WORDS)} {r.choice(FACILITY_SUFFIXES)}"
            p.facilities.append([f"NM1*77*2*{fname}*****XX*{self.npi('1')}", n3, n4])
        return p

    # --- subscriber / patient -------------------------------------------------------------
    def subscriber(self, prov: _Provider, hl: int, parent: int, has_patient: bool,
                   out: list[str]) -> bool:
        """Append loop 2000B (HL..2010BB); return True for a Kaiser-member subscriber."""
        r = self.rng
        kp = r.random() < self.kp_share
        if kp:
            if r.random() < KPIC_SHARE:
                payer = KPIC
                plan, filing = KPIC[7][0]
                home = r.choice(KP_STATES)
            else:
                payer = CIGNA
                plan, filing, homes = r.choice(KP_PLANS)
                home = r.choice(homes)
            member_id = f"{r.randint(1, 99999999999):011d}"
        else:
            payer = r.choices(PAYERS, PAYER_WEIGHTS)[0]
            plan, filing = r.choice(payer[7])
            home = prov.state if r.random() < 0.85 else r.choice(PROVIDER_STATES)
            member_id = f"{payer[6]}{r.randint(0, 999999999):09d}"
            if payer is CIGNA:
                member_id += "01"
            if r.random() < 0.06:
                filing = r.choice(MSP_FILING)
        group = f"{r.randint(10000, 9999999)}" if r.random() < 0.85 else ""
        if not kp and group and r.random() < 0.2:
            plan = ""
        rel = "" if has_patient else "18"
        last, first, g = self.person()
        middle = f"*{r.choice('ABCDEFGHJKLMNPRSTW')}" if r.random() < 0.3 else "*"
        n3, n4 = self.address(home)
        birth = r.randint(date(1940, 1, 1).toordinal(), date(2004, 12, 31).toordinal())
        out += (
            f"HL*{hl}*{parent}*22*{1 if has_patient else 0}",
            f"SBR*P*{rel}*{group}*{plan}*****{filing}",
            f"NM1*IL*1*{last}*{first}{middle}***MI*{member_id}", n3, n4,
            f"DMG*D8*{self.d8(birth)}*{g}",
            f"NM1*PR*2*{payer[0]}*****PI*{payer[1]}",
            f"N3*{payer[2]}", f"N4*{payer[3]}*{payer[4]}*{payer[5]}",
        )
        if has_patient:
            self._patient_seed = (last, n3, n4)
        return kp

    def patient(self, hl: int, parent: int, out: list[str]) -> None:
        """Append loop 2000C/2010CA for a dependent (spouse or child) of the last subscriber."""
        r = self.rng
        last, n3, n4 = self._patient_seed
        if r.random() < 0.7:
            rel, lo, hi = "19", date(2003, 1, 1), date(2022, 10, 31)
        else:
            rel, lo, hi = "01", date(1945, 1, 1), date(2004, 12, 31)
        _l, first, g = self.person()
        birth = r.randint(lo.toordinal(), hi.toordinal())
        out += (f"HL*{hl}*{parent}*23*0", f"PAT*{rel}", f"NM1*QC*1*{last}*{first}", n3, n4,
                f"DMG*D8*{self.d8(birth)}*{g}")

    # --- claims ---------------------------------------------------------------------------
    def _service_dates(self) -> tuple[int, int]:
        r = self.rng
        span = 0 if r.random() < 0.85 else r.randint(1, 6)
        start = r.randint(SERVICE_FIRST, SERVICE_LAST - span)
        return start, span

    def _pcn(self, prov: _Provider) -> str:
        self.claim_seq += 1
        return f"{prov.pcn_prefix}{self.claim_seq:08d}"

    def _n_lines(self) -> int:
        """Line count in [lo, hi], linearly favouring short claims (1-4 -> mean 2.0)."""
        return self.rng.choices(self._line_counts, self._line_weights)[0]

    @staticmethod
    def _price(prov: _Provider, code: str, base: int) -> int:
        """The provider's fee for ``code`` in cents (whole dollars or a multiple of 25c)."""
        fee = prov.fees.get(code)
        if fee is None:
            raw = base * prov.fee_mult
            fee = prov.fees[code] = round(raw / 100) * 100 if prov.round_fees else \
                round(raw / 25) * 25
        return fee

    def claim_p(self, prov: _Provider, out: list[str]) -> None:
        r = self.rng
        spec = prov.specialty
        assert spec is not None
        pos = r.choice(spec[2])
        codes = spec[4]
        n_dx = min(len(codes), r.choice((1, 1, 2, 2, 3, 4)))
        dx = r.sample(codes, n_dx)
        start, span = self._service_dates()
        n_lines = self._n_lines()
        body: list[str] = []
        total = 0
        procs = spec[3]
        for i in range(1, n_lines + 1):
            code, base, max_units, mods = r.choice(procs)
            units = r.randint(1, max_units)
            cents = self._price(prov, code, base) * units
            total += cents
            mod = r.choice(mods)
            if pos == "02" and not mod and r.random() < 0.5:
                mod = "95"
            proc = f"HC:{code}:{mod}" if mod else f"HC:{code}"
            k = r.randint(1, n_dx) if n_dx > 1 else 1
            ptr = ":".join(str(x) for x in range(1, k + 1)) if i == 1 else \
                ":".join(str(x) for x in sorted(r.sample(range(1, n_dx + 1), k)))
            sv105 = pos if r.random() < 0.25 else ""
            body += (f"LX*{i}", f"SV1*{proc}*{fmt_amount(cents)}*UN*{units}*{sv105}**{ptr}",
                     f"DTP*472*D8*{self.d8(start + (r.randint(0, span) if span else 0))}")
        freq = "1" if r.random() < 0.97 else "7"
        out.append(f"CLM*{self._pcn(prov)}*{fmt_amount(total)}***{pos}:B:{freq}*Y*A*Y*Y")
        if r.random() < 0.15:
            out.append(f"DTP*431*D8*{self.d8(start - r.randint(1, 30))}")
        if r.random() < self.amt_share:
            out.append(f"AMT*F5*{fmt_amount(min(total, r.choice((2000, 2500, 3000, 4000, 5000))))}")
        if freq == "7":
            out.append(f"REF*F8*{r.randint(10**10, 10**11 - 1)}")
        if r.random() < 0.08:
            out.append(f"REF*G1*AUTH{r.randint(100000, 999999)}")
        out.append("HI*" + "*".join(("ABK:" if j == 0 else "ABF:") + c for j, c in enumerate(dx)))
        out += r.choice(prov.clinicians)
        if r.random() < self.facility_share:
            out += r.choice(prov.facilities)
        out += body
        self.stats.lines += n_lines

    def claim_i(self, prov: _Provider, out: list[str]) -> None:
        r = self.rng
        kind = r.choices(INST_KINDS, INST_KIND_WEIGHTS)[0]
        start, span = self._service_dates()
        if kind[0] == "EMERGENCY":
            span = min(span, 1)
        n_lines = self._n_lines()
        picks = [r.choice(kind[3])] + [r.choice(kind[4]) for _ in range(n_lines - 1)]
        picks.sort(key=lambda x: x[0])  # revenue code order, as on a UB-04
        body: list[str] = []
        total = 0
        last_day = start
        for i, (rev, code, base, max_units, mods) in enumerate(picks, 1):
            units = r.randint(1, max_units)
            cents = self._price(prov, code, base) * units
            total += cents
            mod = r.choice(mods)
            day = start + (r.randint(0, span) if span else 0)
            last_day = max(last_day, day)
            proc = f"HC:{code}:{mod}" if mod else f"HC:{code}"
            body += (f"LX*{i}", f"SV2*{rev}*{proc}*{fmt_amount(cents)}*UN*{units}",
                     f"DTP*472*D8*{self.d8(day)}")
        freq = "1" if r.random() < 0.97 else "7"
        dx = r.sample(kind[5], min(len(kind[5]), r.choice((1, 1, 2, 3))))
        out += (f"CLM*{self._pcn(prov)}*{fmt_amount(total)}***{prov.facility_code}:A:{freq}"
                "**A*Y*Y",
                f"DTP*434*RD8*{self.d8(start)}-{self.d8(last_day)}",
                f"CL1*{r.choice(kind[1])}*{r.choice(kind[2])}*01")
        if r.random() < self.amt_share:
            out.append(f"AMT*F3*{fmt_amount(min(total, r.choice((5000, 10000, 15000, 25000))))}")
        if freq == "7":
            out.append(f"REF*F8*{r.randint(10**10, 10**11 - 1)}")
        if r.random() < 0.3:
            out.append(f"REF*EA*MR{r.randint(1000000, 9999999)}")
        out.append(f"HI*ABK:{dx[0]}")
        if kind[0] == "EMERGENCY":
            out.append(f"HI*APR:{dx[0]}")
        if len(dx) > 1:
            out.append("HI*" + "*".join("ABF:" + c for c in dx[1:]))
        out += r.choice(prov.clinicians)
        if r.random() < self.facility_share:
            out += r.choice(prov.facilities)
        out += body
        self.stats.lines += n_lines

    # --- transaction ----------------------------------------------------------------------
    def transaction(self, st_ctrl: int, n_claims: int) -> str:
        r = self.rng
        version = VERSIONS[self.kind]
        segs = [f"ST*837*{st_ctrl:04d}*{version}",
                f"BHT*0019*00*{self.seed % 10000:04d}{st_ctrl:06d}*{CREATED:%Y%m%d}*1200*CH",
                "NM1*41*2*ACME BILLING SERVICES*****46*ACME0001",
                "PER*IC*EDI SUPPORT*TE*8005551212*FX*8005551213",
                "NM1*40*2*CLAIMS VALIDATOR CLEARINGHOUSE*****46*CLAIMSVALID"]
        claim = self.claim_p if self.kind == "P" else self.claim_i
        hl = 0
        left = n_claims
        while left:
            prov = r.choice(self.providers)
            hl += 1
            bp_hl = hl
            segs.append(f"HL*{hl}**20*1")
            segs += prov.head
            bp_left = min(left, r.randint(5, 150))
            left -= bp_left
            while bp_left:
                k = min(bp_left, r.choice((1, 1, 2, 2, 3)))
                bp_left -= k
                has_patient = r.random() < self.patient_share
                hl += 1
                sub_hl = hl
                if self.subscriber(prov, hl, bp_hl, has_patient, segs):
                    self.stats.kp_claims += k
                if has_patient:
                    hl += 1
                    self.patient(hl, sub_hl, segs)
                for _ in range(k):
                    claim(prov, segs)
        segs.append(f"SE*{len(segs) + 1}*{st_ctrl:04d}")
        self.stats.claims += n_claims
        self.stats.transactions += 1
        self.stats.segments += len(segs)
        segs.append("")
        return "~\n".join(segs)


def iter_x12(kind: str, n_claims: int, *, seed: int = 1, claims_per_st: int = 5000,
             kp_share: float = 0.2, lines_per_claim: str | tuple[int, int] | None = None,
             patient_share: float = 0.3, facility_share: float = 0.5, amt_share: float = 0.1,
             stats: Stats | None = None) -> Iterator[str]:
    """Yield the interchange in chunks (envelope header, one chunk per ST/SE, trailer)."""
    kind = kind.upper()
    if n_claims < 1 or claims_per_st < 1:
        raise ValueError("n_claims and claims_per_st must be >= 1")
    lines = parse_range(lines_per_claim or DEFAULT_LINES.get(kind, (1, 4)))
    gen = _Generator(kind, seed, lines, kp_share, patient_share, facility_share, amt_share)
    ctrl = 100000000 + seed % 800000000  # ISA13 / GS06
    n_st = -(-n_claims // claims_per_st)
    isa = (f"ISA*00*{'':10}*00*{'':10}*ZZ*{SENDER_ID:<15}*ZZ*{RECEIVER_ID:<15}*"
           f"{CREATED:%y%m%d}*1200*^*00501*{ctrl:09d}*0*P*:~")
    assert len(isa) == 106, len(isa)
    yield (f"{isa}\nGS*HC*{SENDER_ID}*{RECEIVER_ID}*{CREATED:%Y%m%d}*1200*{ctrl}*X*"
           f"{VERSIONS[kind]}~\n")
    left = n_claims
    for st in range(1, n_st + 1):
        n = min(claims_per_st, left)
        left -= n
        yield gen.transaction(st, n)
    yield f"GE*{n_st}*{ctrl}~\nIEA*1*{ctrl:09d}~\n"
    gen.stats.segments += 4
    if stats is not None:
        for k, v in vars(gen.stats).items():
            setattr(stats, k, v)


def generate(kind: str, n_claims: int, *, seed: int = 1, claims_per_st: int = 5000,
             kp_share: float = 0.2, lines_per_claim: str | tuple[int, int] | None = None,
             patient_share: float = 0.3, facility_share: float = 0.5, amt_share: float = 0.1,
             stats: Stats | None = None) -> str:
    """Return a complete 837 interchange ('P' = 005010X222A1, 'I' = 005010X223A2)."""
    text = "".join(iter_x12(kind, n_claims, seed=seed, claims_per_st=claims_per_st,
                            kp_share=kp_share, lines_per_claim=lines_per_claim,
                            patient_share=patient_share, facility_share=facility_share,
                            amt_share=amt_share, stats=stats))
    if stats is not None:
        stats.bytes = len(text)
    return text


def write(kind: str, n_claims: int, out: str | TextIO, *, gzip: bool = False,
          **kwargs: object) -> Stats:
    """Stream the interchange to a path ('-' = stdout) or text file object; return Stats.

    ``kwargs`` are those of :func:`generate`. ``gzip`` compresses a path target.
    """
    stats = Stats()
    t0 = time.perf_counter()
    chunks = iter_x12(kind, n_claims, stats=stats, **kwargs)  # type: ignore[arg-type]
    size = 0
    if isinstance(out, str) and out != "-":
        opener = gz.open if gzip else open
        with opener(out, "wt", encoding="ascii", newline="") as fh:  # type: ignore[operator]
            for chunk in chunks:
                size += len(chunk)
                fh.write(chunk)
    else:
        fh = sys.stdout if out == "-" else out
        assert not isinstance(fh, str)
        for chunk in chunks:
            size += len(chunk)
            fh.write(chunk)
    stats.bytes = size
    stats.seconds = time.perf_counter() - t0
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate a synthetic X12 5010 837P/837I file.")
    ap.add_argument("--type", choices=("P", "I", "p", "i"), default="P",
                    help="P = 837P (005010X222A1), I = 837I (005010X223A2)")
    ap.add_argument("--claims", type=int, required=True, help="number of claims (CLM)")
    ap.add_argument("--out", required=True, help="output path, '-' for stdout")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines-per-claim", default=None,
                    help="service lines per claim, 'lo-hi' (default P: 1-4, I: 2-5)")
    ap.add_argument("--claims-per-st", type=int, default=5000)
    ap.add_argument("--kp-share", type=float, default=0.2,
                    help="fraction of claims for Kaiser members (Cigna 62308 / KPIC 94320)")
    ap.add_argument("--gzip", action="store_true", help="gzip the output file")
    ap.add_argument("--files", type=int, default=1,
                    help="split the claims over this many files (seeds SEED, SEED+1, ...) "
                         "written into the folder OUT")
    a = ap.parse_args(argv)
    if a.files > 1:
        folder = Path(a.out)
        folder.mkdir(parents=True, exist_ok=True)
        each, extra = divmod(a.claims, a.files)
        for i in range(a.files):
            write(a.type.upper(), each + (i < extra), str(folder / f"f{i + 1:05d}.837"),
                  gzip=a.gzip, seed=a.seed + i, claims_per_st=a.claims_per_st,
                  kp_share=a.kp_share, lines_per_claim=a.lines_per_claim)
        print(f"837{a.type.upper()}: {a.claims} claims in {a.files} files -> {folder}",
              file=sys.stderr)
        return 0
    stats = write(a.type.upper(), a.claims, a.out, gzip=a.gzip, seed=a.seed,
                  claims_per_st=a.claims_per_st, kp_share=a.kp_share,
                  lines_per_claim=a.lines_per_claim)
    print(f"837{a.type.upper()}: {stats.claims} claims ({stats.kp_claims} KP), "
          f"{stats.lines} lines, {stats.transactions} ST, {stats.segments} segments, "
          f"{stats.bytes / 1e6:.1f} MB (uncompressed) in {stats.seconds:.1f}s -> {a.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
