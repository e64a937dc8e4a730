#!/usr/bin/env python3
"""Generate the demo site's go-to-market sample data into sources/*.csv.

Deterministic: one random.Random(42), a fixed "today" (2026-10-31) and the standard library only,
so running it twice writes byte-identical files. The story the data tells:

- Two years of a B2B SaaS company's funnel (November 2024 - October 2026): web visitors by
  channel and day, leads, MQL -> SQL -> opportunity -> won, and the marketing spend behind them.
- Channels differ: Referral and Partner convert best and retain best; Paid Social brings volume
  but converts and retains worst, and its cost per lead rose when its budget was tripled in 2026;
  Events and Outbound skew towards Enterprise accounts with bigger, slower deals.
- Deal sizes grow with segment (SMB ~$11k, Mid-Market ~$42k, Enterprise ~$150k ARR), prices went
  up 8% in January 2026, and a lead-scoring change in March 2026 lifted MQL -> SQL conversion.
- Leads dip in the summer and in December, event spend spikes in March, June and October.
- Customers' monthly active users ramp up after the sale; logo churn is highest for SMB and for
  Paid Social customers, and cohorts won after the January 2026 onboarding programme churn less.
- A handful of open deals have a close date in the past (stale pipeline) for the data checks to find.

Usage: python scripts/gen_demo_data.py [--out sources]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from collections import defaultdict
from pathlib import Path

START = dt.date(2024, 11, 1)
TODAY = dt.date(2026, 10, 31)  # the data's "today": never the real clock
PRICE_RISE = dt.date(2026, 1, 1)
SCORING_CHANGE = dt.date(2026, 3, 1)
ONBOARDING_PROGRAMME = dt.date(2026, 1, 1)

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")

# Per channel: the segment mix of new accounts, stage conversion rates (lead->MQL, MQL->SQL,
# SQL->opportunity, opportunity->won), a deal-size factor and a churn factor.
CHANNELS = {
    "Paid Search": dict(mix=(0.55, 0.33, 0.12), mql=0.50, sql=0.40, opp=0.70, win=0.27, size=1.00, churn=1.00),
    "Organic":     dict(mix=(0.60, 0.30, 0.10), mql=0.44, sql=0.38, opp=0.72, win=0.29, size=0.95, churn=0.90),
    "Paid Social": dict(mix=(0.70, 0.25, 0.05), mql=0.38, sql=0.30, opp=0.62, win=0.24, size=0.85, churn=1.60),
    "Events":      dict(mix=(0.30, 0.40, 0.30), mql=0.58, sql=0.42, opp=0.66, win=0.30, size=1.10, churn=1.00),
    "Partner":     dict(mix=(0.35, 0.45, 0.20), mql=0.70, sql=0.55, opp=0.80, win=0.33, size=1.10, churn=0.75),
    "Outbound":    dict(mix=(0.20, 0.40, 0.40), mql=0.55, sql=0.42, opp=0.70, win=0.24, size=1.00, churn=1.20),
    "Referral":    dict(mix=(0.45, 0.38, 0.17), mql=0.76, sql=0.52, opp=0.85, win=0.38, size=1.05, churn=0.60),
}

SEGMENT = {
    "SMB":        dict(win=1.10, opp=0.95, cycle=32, acv=11_000, sigma=0.45, lo=4_000, hi=40_000, step=100,
                       employees=(10, 200), seat_price=480, churn=0.022),
    "Mid-Market": dict(win=1.00, opp=1.00, cycle=68, acv=42_000, sigma=0.40, lo=18_000, hi=150_000, step=500,
                       employees=(200, 2_000), seat_price=420, churn=0.011),
    "Enterprise": dict(win=0.75, opp=1.05, cycle=125, acv=150_000, sigma=0.50, lo=70_000, hi=750_000, step=500,
                       employees=(2_000, 60_000), seat_price=360, churn=0.005),
}

REPS = [  # owner, team, start date, annual quota, skill (win-rate factor)
    ("Maya Chen", "SMB", dt.date(2024, 11, 1), 650_000, 1.12),
    ("Jordan Blake", "SMB", dt.date(2024, 11, 1), 650_000, 0.95),
    ("Priya Nair", "SMB", dt.date(2024, 11, 1), 650_000, 1.02),
    ("Tom Okafor", "SMB", dt.date(2025, 9, 1), 650_000, 0.90),
    ("Elena Rossi", "Mid-Market", dt.date(2024, 11, 1), 1_500_000, 1.10),
    ("Marcus Webb", "Mid-Market", dt.date(2024, 11, 1), 1_500_000, 0.92),
    ("Sofia Alvarez", "Mid-Market", dt.date(2024, 11, 1), 1_500_000, 1.00),
    ("Liam Foster", "Mid-Market", dt.date(2026, 2, 1), 1_500_000, 0.88),
    ("Daniel Kim", "Enterprise", dt.date(2024, 11, 1), 2_600_000, 1.05),
    ("Rachel Stone", "Enterprise", dt.date(2024, 11, 1), 2_600_000, 1.00),
    ("Arjun Mehta", "Enterprise", dt.date(2025, 6, 1), 2_600_000, 0.95),
]
REP_SKILL = {name: skill for name, _, _, _, skill in REPS}

REGIONS = (("North America", 0.50), ("EMEA", 0.30), ("APAC", 0.14), ("LATAM", 0.06))
INDUSTRIES = {
    "Software": (0.24, ("Software", "Labs", "Technologies", "Cloud", "AI")),
    "Financial Services": (0.14, ("Capital", "Financial", "Partners", "Bank")),
    "Healthcare": (0.12, ("Health", "Medical", "Care")),
    "Retail": (0.12, ("Retail", "Brands", "Market", "Goods")),
    "Manufacturing": (0.12, ("Industries", "Manufacturing", "Components")),
    "Media": (0.09, ("Media", "Studios", "Publishing")),
    "Education": (0.08, ("Learning", "Academy", "Education")),
    "Logistics": (0.09, ("Logistics", "Freight", "Transport")),
}
NAME_PREFIXES = ("Blue", "North", "Silver", "Iron", "Bright", "Clear", "Red", "Oak", "Stone", "Swift", "Summit",
                 "Green", "Golden", "High", "Lake", "Maple", "Nova", "Pine", "Quantum", "Rapid", "Sky", "Sun",
                 "True", "West", "East", "Alder", "Arc", "Bold", "Cedar", "Copper", "Delta", "Ember", "Falcon",
                 "Fox", "Granite", "Harbor", "Hollow", "Juniper", "Keystone", "Lumen", "Meridian", "Orbit",
                 "Polar", "Prairie", "Quarry", "Raven", "Sage", "Signal", "Tidal", "Vertex", "Willow", "Zephyr")
NAME_ROOTS = ("field", "peak", "wave", "line", "gate", "stone", "bridge", "path", "point", "crest", "forge",
              "leaf", "light", "mark", "river", "spring", "vale", "wind", "works", "shore", "ridge", "rock",
              "view", "well", "wood", "bay", "core", "dale", "ford", "haven", "hill", "land", "moor", "port")
FIRST_NAMES = ("alex", "sam", "jamie", "taylor", "morgan", "casey", "jordan", "riley", "avery", "quinn", "emma",
               "olivia", "liam", "noah", "ava", "mia", "lucas", "ethan", "sophia", "isabella", "james", "amelia",
               "harper", "elijah", "benjamin", "chloe", "daniel", "grace", "henry", "zoe", "leo", "nora", "omar",
               "fatima", "wei", "mei", "hiro", "yuki", "raj", "anya", "pablo", "lucia", "ivan", "elena", "kofi",
               "amara", "lars", "ingrid", "marta", "tomas")
LAST_NAMES = ("smith", "johnson", "brown", "garcia", "miller", "davis", "martin", "lee", "walker", "hall",
              "young", "king", "wright", "lopez", "hill", "scott", "green", "adams", "baker", "nelson", "carter",
              "mitchell", "perez", "roberts", "turner", "phillips", "campbell", "parker", "evans", "edwards",
              "collins", "stewart", "morris", "rogers", "reed", "cook", "morgan", "bell", "murphy", "bailey",
              "rivera", "cooper", "richardson", "cox", "howard", "ward", "torres", "peterson", "gray", "ramirez",
              "nguyen", "patel", "kim", "chen", "singh", "mueller", "rossi", "dubois", "silva", "tanaka")

# Calendar seasonality of inbound demand (B2B: summer and December are quiet).
SEASON = {1: 1.05, 2: 1.03, 3: 1.05, 4: 1.00, 5: 1.00, 6: 0.95, 7: 0.88, 8: 0.84, 9: 1.03, 10: 1.06, 11: 1.00,
          12: 0.80}
EVENT_MONTHS = {3: 12, 6: 10, 10: 14}  # month -> day the big conference starts


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    y, m = divmod(day.month - 1 + n, 12)
    return dt.date(day.year + y, m + 1, 1)


def months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def days_in_month(day: dt.date) -> int:
    return (add_months(month_start(day), 1) - month_start(day)).days


MONTHS = [add_months(START, i) for i in range(months_between(START, TODAY) + 1)]
DAYS = [START + dt.timedelta(days=i) for i in range((TODAY - START).days + 1)]


class Generator:
    def __init__(self, seed: int = 42):
        self.rng = random.Random(seed)
        self.accounts: list[dict] = []
        self.account_names: set[str] = set()
        self.emails: set[str] = set()
        self.leads: list[dict] = []
        self.opportunities: list[dict] = []
        self.visits: list[dict] = []
        self.spend: list[dict] = []
        self.mau: list[dict] = []
        self.rep_turn: dict[str, int] = defaultdict(int)

    # -- small random helpers -------------------------------------------------------------------

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 40:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def weighted(self, pairs) -> str:
        items = list(pairs)
        return self.rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]

    def noise(self, spread: float) -> float:
        return max(0.2, self.rng.gauss(1.0, spread))

    # -- marketing spend (monthly) --------------------------------------------------------------

    def spend_for(self, channel: str, i: int, month: dt.date) -> float:
        if channel == "Paid Search":
            base = 105_000 * 1.012 ** i * (0.9 + 0.1 * SEASON[month.month])
        elif channel == "Paid Social":
            # Flat through 2025, then the budget is tripled over Q1 2026.
            ramp = {dt.date(2026, 1, 1): 70_000, dt.date(2026, 2, 1): 90_000}
            base = ramp.get(month, 45_000 * 1.01 ** i if month < dt.date(2026, 1, 1) else 110_000)
        elif channel == "Events":
            base = 18_000 + (140_000 if month.month in EVENT_MONTHS else 0) * (1.08 if month.year == 2026 else 1.0)
        elif channel == "Partner":
            base = 55_000 + 900 * i  # partner commissions and enablement
        elif channel == "Outbound":
            base = 55_000 + 8_000 * (i // 6)  # SDR team: one more SDR every six months
        elif channel == "Organic":
            base = 70_000 + 1_200 * i  # content and SEO
        else:  # Referral programme bonuses
            base = 22_000 + 400 * i
        return round(base * self.noise(0.04), -2)

    # -- web visitors (daily) and leads -----------------------------------------------------------

    def daily_visitors(self, channel: str, day: dt.date, i: int, spend: float) -> float:
        weekday = day.weekday() < 5
        week = 1.0 if weekday else (0.55 if channel == "Organic" else 0.42)
        season = SEASON[day.month]
        per_day = spend / days_in_month(day)
        if channel == "Paid Search":
            cpc = 9.0 * 1.005 ** i
            return per_day / cpc * week / 0.86
        if channel == "Paid Social":
            cpc = 2.8 * (spend / 45_000) ** 0.35
            return per_day / cpc * week / 0.83
        if channel == "Organic":
            return 640 * 1.022 ** i * season * week
        if channel == "Referral":
            return 32 * 1.03 ** i * season * week
        if channel == "Partner":
            return 52 * 1.02 ** i * season * week
        if channel == "Events":
            start = EVENT_MONTHS.get(day.month)
            spike = 160 if start and 0 <= day.day - start < 10 else 0
            return (18 + spike) * week
        return 26 * (1 + 0.02 * i) * week  # Outbound: prospects clicking through from sequences

    def lead_rate(self, channel: str, day: dt.date, i: int, visitors: float, spend: float) -> float:
        """Expected leads on a day."""
        season = SEASON[day.month]
        if channel == "Paid Search":
            return visitors * 0.0124
        if channel == "Paid Social":
            return visitors * 0.0055 * (45_000 / spend) ** 0.3
        if channel == "Organic":
            return visitors * 0.0074
        if channel == "Referral":
            return visitors * 0.024
        if channel == "Partner":
            return visitors * 0.028
        if channel == "Events":
            start = EVENT_MONTHS.get(day.month)
            conference = 150 / 3 * (1.1 if day.year == 2026 else 1.0) if start and 0 <= day.day - start < 3 else 0
            return conference + 0.4 * season
        if day.weekday() >= 5:  # Outbound: SDRs work weekdays
            return 0.0
        return (3.4 + 0.45 * (i // 6)) * season

    # -- accounts ---------------------------------------------------------------------------------

    def new_account(self, channel: str, day: dt.date) -> dict:
        rng = self.rng
        segment = rng.choices(SEGMENTS, weights=CHANNELS[channel]["mix"])[0]
        industry = rng.choices(list(INDUSTRIES), weights=[w for w, _ in INDUSTRIES.values()])[0]
        for _ in range(50):
            stem = rng.choice(NAME_PREFIXES) + rng.choice(NAME_ROOTS)
            name = f"{stem} {rng.choice(INDUSTRIES[industry][1])}"
            if name not in self.account_names:
                break
        else:
            name = f"{stem} {rng.choice(INDUSTRIES[industry][1])} {len(self.accounts)}"
        self.account_names.add(name)
        lo, hi = SEGMENT[segment]["employees"]
        employees = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        employees = round(employees, -1) if employees > 100 else employees
        account = dict(account_id=f"ACC-{len(self.accounts) + 1:05d}", name=name, industry=industry,
                       region=self.weighted(REGIONS), segment=segment, employees=employees, created_at=day,
                       owner=self.assign_owner(segment, day),
                       domain=name.lower().replace(" ", "") + ".com")
        self.accounts.append(account)
        return account

    def assign_owner(self, segment: str, day: dt.date) -> str:
        team = [r for r in REPS if r[1] == segment and r[2] <= day]
        # New reps get a bigger share of fresh accounts while they build their book.
        weights = [1.6 if (day - r[2]).days < 180 and r[2] > START else 1.0 for r in team]
        return self.rng.choices([r[0] for r in team], weights=weights)[0]

    def email(self, account: dict) -> str:
        rng = self.rng
        base = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}"
        email, n = f"{base}@{account['domain']}", 2
        while email in self.emails:
            email, n = f"{base}{n}@{account['domain']}", n + 1
        self.emails.add(email)
        return email

    # -- the funnel of one lead -------------------------------------------------------------------

    def lag(self, mean: float, minimum: int = 0) -> dt.timedelta:
        return dt.timedelta(days=minimum + int(self.rng.expovariate(1 / mean)))

    def deal_amount(self, segment: str, channel: str, day: dt.date) -> int:
        s = SEGMENT[segment]
        raw = s["acv"] * CHANNELS[channel]["size"] * math.exp(self.rng.gauss(0, s["sigma"]))
        raw *= 1.08 if day >= PRICE_RISE else 1.0
        raw = min(max(raw, s["lo"]), s["hi"])
        return int(round(raw / s["step"]) * s["step"])

    def run_lead(self, channel: str, day: dt.date) -> None:
        rng = self.rng
        existing = len(self.accounts) > 50 and rng.random() < 0.42
        account = rng.choice(self.accounts[-3000:]) if existing else self.new_account(channel, day)
        segment = account["segment"]
        c, s = CHANNELS[channel], SEGMENT[segment]
        lead = dict(lead_id=f"L-{len(self.leads) + 1:06d}", account_id=account["account_id"],
                    email=self.email(account), channel=channel, created_at=day,
                    mql_at=None, sql_at=None, opportunity_at=None, won_at=None)
        self.leads.append(lead)

        if rng.random() >= c["mql"]:
            return
        mql = day + self.lag(3)
        if mql > TODAY:
            return
        lead["mql_at"] = mql
        sql_rate = c["sql"] * (1.14 if mql >= SCORING_CHANGE else 1.0)
        if rng.random() >= sql_rate:
            return
        sql = mql + self.lag(6, 1)
        if sql > TODAY:
            return
        lead["sql_at"] = sql
        if rng.random() >= c["opp"] * s["opp"]:
            return
        created = sql + self.lag(4)
        if created > TODAY:
            return
        lead["opportunity_at"] = created

        owner = account["owner"]
        won = rng.random() < c["win"] * s["win"] * REP_SKILL[owner]
        cycle = s["cycle"] * math.exp(rng.gauss(0, 0.35))
        close = created + dt.timedelta(days=max(7, round(cycle if won else cycle * rng.uniform(0.35, 1.2))))
        # Deals tend to close at the end of a quarter.
        if won and close.month in (2, 5, 8, 11) and rng.random() < 0.35:
            close = add_months(close, 1) + dt.timedelta(days=rng.randint(0, 20))
        amount = self.deal_amount(segment, channel, created)
        opp = dict(opportunity_id=f"OPP-{len(self.opportunities) + 1:05d}", account_id=account["account_id"],
                   lead_id=lead["lead_id"], channel=channel, owner=owner, segment=segment,
                   opportunity_type="New Business", stage=None, amount=amount, created_at=created,
                   close_date=close, is_closed=False, is_won=False)
        stale = close <= TODAY and (TODAY - close).days < 120 and rng.random() < 0.04
        if close > TODAY or stale:
            expected = created + dt.timedelta(days=round(s["cycle"] * math.exp(rng.gauss(0, 0.2))))
            progress = (TODAY - created).days / max(1, (expected - created).days)
            stages = ("Prospecting", "Qualification", "Proposal", "Negotiation")
            opp["stage"] = "Negotiation" if stale else stages[sum(progress >= t for t in (0.2, 0.45, 0.75))]
            opp["close_date"] = close if stale else max(expected, TODAY + dt.timedelta(days=rng.randint(7, 45)))
        else:
            opp.update(stage="Closed Won" if won else "Closed Lost", is_closed=True, is_won=won)
            if won:
                lead["won_at"] = close
        self.opportunities.append(opp)

    # -- monthly active users of customers ------------------------------------------------------

    def customers_usage(self) -> None:
        rng = self.rng
        wins = defaultdict(list)
        for opp in self.opportunities:
            if opp["is_won"]:
                wins[opp["account_id"]].append(opp)
        by_id = {a["account_id"]: a for a in self.accounts}
        # The first win is new business; later wins (and deals opened after it) are expansions.
        first_win = {}
        for account_id, won in wins.items():
            won.sort(key=lambda o: (o["close_date"], o["opportunity_id"]))
            first_win[account_id] = won[0]
        for opp in self.opportunities:
            first = first_win.get(opp["account_id"])
            if first is not None and opp is not first and opp["created_at"] > first["close_date"]:
                opp["opportunity_type"] = "Expansion"
                opp["amount"] = int(round(opp["amount"] * 0.45 / 100) * 100)
        for account_id in sorted(wins):
            won = wins[account_id]
            account, first = by_id[account_id], won[0]
            segment = account["segment"]
            s = SEGMENT[segment]
            cohort = month_start(first["close_date"])
            hazard = s["churn"] * CHANNELS[first["channel"]]["churn"]
            hazard *= 1.25 if cohort < dt.date(2025, 7, 1) else (0.8 if cohort >= ONBOARDING_PROGRAMME else 1.0)
            churn_month = None
            for k in range(1, months_between(cohort, TODAY) + 1):
                early = 1.5 if k <= 6 else 1.0  # most churn happens in the first renewal window
                if rng.random() < hazard * early:
                    churn_month = add_months(cohort, k)
                    break
            seats = 0.0
            level = rng.uniform(0.75, 0.95)
            month = cohort
            while month <= month_start(TODAY) and (churn_month is None or month < churn_month):
                for opp in won:
                    if month_start(opp["close_date"]) == month:
                        seats += opp["amount"] / s["seat_price"]
                age = months_between(cohort, month)
                adoption = level * (1 - 0.55 * math.exp(-age / 1.6)) * (1 + 0.006 * age)
                if churn_month is not None:
                    left = months_between(month, churn_month)
                    adoption *= {1: 0.35, 2: 0.6}.get(left, 1.0)
                users = max(1, round(seats * adoption * rng.gauss(1.0, 0.05)))
                self.mau.append(dict(month=month, account_id=account_id, active_users=users))
                month = add_months(month, 1)

    # -- everything -------------------------------------------------------------------------------

    def run(self) -> None:
        spend = {}
        for i, month in enumerate(MONTHS):
            for channel in CHANNELS:
                spend[month, channel] = self.spend_for(channel, i, month)
                self.spend.append(dict(month=month, channel=channel, spend=int(spend[month, channel])))
        for day in DAYS:
            i = months_between(START, day)
            for channel in CHANNELS:
                monthly = spend[month_start(day), channel]
                visitors = max(0, round(self.daily_visitors(channel, day, i, monthly) * self.noise(0.08)))
                sessions = round(visitors * self.rng.uniform(1.25, 1.45))
                self.visits.append(dict(date=day, channel=channel, visitors=visitors, sessions=sessions))
                for _ in range(self.poisson(self.lead_rate(channel, day, i, visitors, monthly))):
                    self.run_lead(channel, day)
        self.customers_usage()


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> int:
    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([text(row[c]) for c in columns])
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "sources")
    out = parser.parse_args().out
    gen = Generator(42)
    gen.run()
    reps = [dict(owner=o, team=t, role="Account Executive", start_date=d, annual_quota=q) for o, t, d, q, _ in REPS]
    tables = {
        "accounts": (gen.accounts, ["account_id", "name", "industry", "region", "segment", "employees",
                                    "created_at", "owner"]),
        "leads": (gen.leads, ["lead_id", "account_id", "email", "channel", "created_at", "mql_at", "sql_at",
                              "opportunity_at", "won_at"]),
        "web_visits": (gen.visits, ["date", "channel", "visitors", "sessions"]),
        "opportunities": (gen.opportunities, ["opportunity_id", "account_id", "lead_id", "channel", "owner",
                                              "segment", "opportunity_type", "stage", "amount", "created_at",
                                              "close_date", "is_closed", "is_won"]),
        "marketing_spend": (gen.spend, ["month", "channel", "spend"]),
        "monthly_active_users": (gen.mau, ["month", "account_id", "active_users"]),
        "reps": (reps, ["owner", "team", "role", "start_date", "annual_quota"]),
    }
    total = 0
    for name, (rows, columns) in tables.items():
        size = write_csv(out / f"{name}.csv", rows, columns)
        total += size
        print(f"{name:22} {len(rows):>7,} rows {size / 1024:>8,.0f} KiB")
    print(f"{'total':22} {'':>12} {total / 1024:>8,.0f} KiB")


if __name__ == "__main__":
    main()
