"""The cover plan, N-1 resilience, the absences reader and ``gapmap cover``."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.cover import check_cover_plan, cover_plan, n_minus_one
from gapmap.cover.mip import IntModel
from gapmap.errors import InputError
from gapmap.io.absences import read_absences, read_matches
from gapmap.vocab import parse_days, parse_services

from .conftest import write
from .helpers import box_study

MON = dt.date(2026, 12, 7)  # a Monday
SUN = MON + dt.timedelta(days=6)


def providers_frame(rows):
    """Providers from (id, x_km, y_km, days, capacity, committed, cover) with defaults."""
    out = pd.DataFrame(
        [
            {"provider_id": r[0], "name": f"Care {r[0]}", "x": 600_000 + 1000 * r[1],
             "y": 150_000 + 1000 * r[2], "days": r[3], "capacity_hours": r[4],
             "committed_hours": r[5], "cover": r[6], "services": "domestic;social",
             "max_travel_km": 10.0, "cqc_registered": False, "phone": "07700 900000",
             "email": "", "website": "", "postcode": ""}
            for r in rows
        ]
    )  # fmt: skip
    out["day_mask"] = [parse_days(d) for d in out["days"]]
    out["service_mask"] = [parse_services(s) for s in out["services"]]
    return out


def people_frame(rows):
    """People from (id, x_km, y_km, hours, days, priority)."""
    out = pd.DataFrame(
        [
            {"person_id": r[0], "x": 600_000 + 1000 * r[1], "y": 150_000 + 1000 * r[2],
             "hours": r[3], "days": r[4], "priority": r[5], "services": "domestic",
             "max_travel_km": math.nan, "postcode": ""}
            for r in rows
        ]
    )  # fmt: skip
    out["day_mask"] = [parse_days(d) for d in out["days"]]
    out["service_mask"] = [parse_services(s) for s in out["services"]]
    return out


def matches_frame(rows):
    """Matches from (person, provider, partner, cover)."""
    return pd.DataFrame(
        [{"person_id": r[0], "status": "matched", "provider_id": r[1],
          "partner_provider_id": r[2], "cover_provider_id": r[3]} for r in rows]
    )  # fmt: skip


def absences_frame(rows):
    """Absences from (provider, from, to, days text)."""
    return pd.DataFrame(
        {"provider_id": [r[0] for r in rows], "from": [r[1] for r in rows],
         "to": [r[2] for r in rows], "days": [parse_days(r[3]) for r in rows],
         "reason": [""] * len(rows)}
    ).astype({"days": np.int64})  # fmt: skip


def plan_and_check(study, matches, absences, start=MON, end=SUN):
    plan = cover_plan(study, matches, absences, start, end)
    problems = check_cover_plan(
        study.people, study.providers, matches, absences, plan.table(), start, end,
        objective=plan.objective,
    )  # fmt: skip
    assert problems == []
    return plan


# --- preferences --------------------------------------------------------------------------------
def test_named_cover_is_chosen_before_a_nearer_provider():
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),    # the provider, off all week
        ("C", 5, 0, "all", 40, 0, True),    # the named cover, 5 km away
        ("B", 0.5, 0, "all", 40, 0, True),  # nearer, with room
    ])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 7.0, "all", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "C")])
    plan = plan_and_check(study, matches, absences_frame([("A", MON, SUN, "all")]))
    t = plan.table()
    assert len(t) == 7 and set(t["cover_provider_id"]) == {"C"}
    assert set(t["status"]) == {"named_cover"}
    assert plan.status == "OPTIMAL" and plan.tie_break_status == "OPTIMAL"


def test_named_covers_chosen_when_needs_compete_for_a_nearer_provider():
    # B, nearest to both, has room for one of them: the two needs are one CP-SAT model
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),
        ("B", 0.3, 0, "all", 1, 0, True),
        ("C", 4, 0, "all", 40, 0, True),
        ("D", 0, 4, "all", 40, 0, True),
    ])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 1.0, "Mon", 3), ("P2", 0.2, 0.2, 1.0, "Mon", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "C"), ("P2", "A", "", "D")])
    plan = plan_and_check(study, matches, absences_frame([("A", MON, SUN, "all")]))
    t = plan.table().set_index("person_id")
    assert t.loc["P1", "cover_provider_id"] == "C" and t.loc["P2", "cover_provider_id"] == "D"
    assert plan.tie_break_status == "OPTIMAL"


def test_between_equally_urgent_people_the_named_cover_decides_who_is_covered():
    # X has room for one hour and is the only provider left in reach of both: covering P1 or
    # P2 is worth the same (same priority and hours), and X is P1's named cover, so P1 it is
    # (level 1 pools the two; the tie-break chooses the person, not just the provider)
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),    # the provider of both, off
        ("Y", 0, 1, "all", 40, 0, True),    # P2's named cover, off too
        ("X", 0.5, 0, "all", 1, 0, True),   # P1's named cover: room for one of them
    ])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 1.0, "Mon", 3), ("P2", 0.2, 0.1, 1.0, "Mon", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "X"), ("P2", "A", "", "Y")])
    absences = absences_frame([("A", MON, SUN, "all"), ("Y", MON, SUN, "all")])
    plan = plan_and_check(study, matches, absences)
    t = plan.table().set_index("person_id")
    assert t.loc["P1", "status"] == "named_cover" and t.loc["P1", "cover_provider_id"] == "X"
    assert t.loc["P2", "status"] == "uncovered"
    assert plan.status == "OPTIMAL" and plan.tie_break_status == "OPTIMAL"


def test_continuity_partner_before_a_nearer_stranger():
    # P needs Mon and Sat; A works weekdays, partner W works Mon and Sat; A is off on Monday
    providers = providers_frame([
        ("A", 0, 0, "weekdays", 40, 0, True),
        ("W", 6, 0, "Mon;Sat", 40, 0, False),  # not a cover provider, but already gives P hours
        ("B", 0.5, 0, "all", 40, 0, True),
        ("C", 1, 0, "weekdays", 40, 0, True),  # the named cover does not work... it does: full
    ])  # fmt: skip
    providers.loc[providers["provider_id"] == "C", "committed_hours"] = 40
    people = people_frame([("P1", 0.2, 0, 4.0, "Mon;Sat", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "W", "C")])
    plan = plan_and_check(study, matches, absences_frame([("A", MON, MON, "all")]))
    t = plan.table()
    assert t[["day", "role", "cover_provider_id"]].values.tolist() == [["Mon", "provider", "W"]]
    assert t["hours"].tolist() == [2.0]


def test_absent_providers_give_nothing_and_capacity_is_a_weeks():
    # two providers off; the only other one has room for 3 of the 5 lost days in the week
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),
        ("D", 0.1, 0, "all", 40, 0, True),   # also off: nearest, plenty of room
        ("B", 2, 0, "all", 10, 7, True),      # 3 h free a week
    ])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 5.0, "weekdays", 5), ("P2", 0.3, 0, 2, "Sat;Sun", 1)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "D", "D"), ("P2", "D", "", "A")])
    absences = absences_frame([("A", MON, SUN, "all"), ("D", MON, SUN, "all")])
    plan = plan_and_check(study, matches, absences)
    t = plan.table()
    assert not t["cover_provider_id"].isin(["A", "D"]).any()
    # B's 3 hours go to the urgent person (priority 5, 1 h a day), not the one of priority 1
    assert t.loc[t["cover_provider_id"] == "B", "person_id"].tolist() == ["P1"] * 3
    assert plan.summary()["hours_uncovered"] == pytest.approx(4.0)
    assert set(t.loc[t["status"] == "uncovered", "reason"]) == {"all_full"}
    # two weeks: each ISO week is its own budget, so B gives 3 h in each
    plan2 = plan_and_check(
        study,
        matches,
        absences_frame(
            [
                ("A", MON, SUN + dt.timedelta(days=7), "all"),
                ("D", MON, SUN + dt.timedelta(days=7), "all"),
            ]
        ),
        MON,
        SUN + dt.timedelta(days=7),
    )
    assert plan2.summary()["hours_other_cover"] == pytest.approx(6.0)


def test_a_provider_off_some_days_lends_its_own_peoples_hours_of_those_days():
    # B is full with its own person P2 (5 h on Monday, 5 h on Tuesday) but is off on Monday
    # of the first week: it does not give P2 Monday's 5 h that week, so it has 5 h of room on
    # the days it works. A is off every Wednesday; P1 (3 h on Wednesdays) is B's to cover in
    # the first week; in the second week B works Monday again, is full, and P1 goes uncovered.
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),
        ("B", 1, 0, "all", 10, 0, True),
        ("C", 2, 0, "Mon", 40, 0, True),  # gives P2's Monday instead
    ])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 3.0, "Wed", 3), ("P2", 1.2, 0, 10.0, "Mon;Tue", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "B"), ("P2", "B", "", "C")])
    end = SUN + dt.timedelta(days=7)
    absences = absences_frame([("A", MON, end, "Wed"), ("B", MON, MON, "all")])
    plan = plan_and_check(study, matches, absences, MON, end)
    t = plan.table().set_index(["person_id", "date"])
    wed1, wed2 = (MON + dt.timedelta(days=2)).isoformat(), (MON + dt.timedelta(days=9)).isoformat()
    assert t.loc[("P1", wed1), "cover_provider_id"] == "B"
    assert t.loc[("P1", wed1), "status"] == "named_cover"
    assert t.loc[("P1", wed2), "status"] == "uncovered"
    assert t.loc[("P1", wed2), "reason"] == "all_full"
    assert t.loc[("P2", MON.isoformat()), "cover_provider_id"] == "C"
    # B off only on Monday: Wednesday's cover of 3 h fits the 5 h Monday freed, not 6 h
    people.loc[0, "hours"] = 6.0
    plan = plan_and_check(box_study(people, providers), matches, absences, MON, end)
    assert (plan.table()["status"] == "uncovered").sum() == 2


def test_uncovered_reason_no_one_works_that_day():
    providers = providers_frame([("A", 0, 0, "all", 40, 0, True), ("B", 1, 0, "weekdays", 40, 0,
                                                                   True)])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 2.0, "Mon;Sun", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "B")])
    plan = plan_and_check(study, matches, absences_frame([("A", MON, SUN, "all")]))
    t = plan.table().set_index("day")
    assert t.loc["Mon", "status"] == "named_cover"
    assert t.loc["Sun", "status"] == "uncovered"
    assert t.loc["Sun", "reason"] == "no_one_works_that_day"
    from gapmap.publish.cover import call_list

    calls = call_list(plan, study)
    row = calls[calls["status"] == "NO COVER"].iloc[0]
    assert "no one who can support them works on Sundays" in row["reason"]
    assert "B" in row["nearest_change"] and "Sundays too" in row["nearest_change"]


def test_checker_finds_a_plan_using_an_absent_provider_or_over_room():
    providers = providers_frame([("A", 0, 0, "all", 40, 0, True), ("B", 1, 0, "all", 3, 0,
                                                                   True)])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 7.0, "all", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "B")])
    absences = absences_frame([("A", MON, SUN, "all")])
    plan = plan_and_check(study, matches, absences)
    t = plan.table()
    assert (t["status"] == "named_cover").sum() == 3  # B has 3 h
    bad = t.copy()
    bad["cover_provider_id"], bad["status"] = "B", "named_cover"
    found = check_cover_plan(study.people, study.providers, matches, absences, bad, MON, SUN)
    assert any("room 3.00 h" in p for p in found)
    bad = t.copy()
    bad.loc[0, "cover_provider_id"], bad.loc[0, "status"] = "A", "other_cover"
    found = check_cover_plan(study.people, study.providers, matches, absences, bad, MON, SUN)
    assert any("off that day" in p for p in found)
    assert any("absent provider covers itself" in p for p in found)


# --- optimality against brute force -------------------------------------------------------------
def brute_force_optimum(study, matches, absences, table) -> float:
    """Best priority x hours over every assignment of the listed needs, judged by the checker
    (each need's covers alone first, then every combination that could beat the best)."""
    ids = study.providers["provider_id"].tolist()
    named = dict(zip(matches["person_id"], matches["cover_provider_id"]))
    pr = dict(zip(study.people["person_id"], study.people["priority"]))

    def plan_of(combo):
        plan = table.copy()
        plan["cover_provider_id"] = list(combo)
        plan["status"] = [
            "uncovered" if not c else "named_cover" if named.get(p) == c else "other_cover"
            for p, c in zip(plan["person_id"], combo)
        ]
        return plan

    def valid(combo) -> bool:
        return not check_cover_plan(
            study.people, study.providers, matches, absences, plan_of(combo), MON, SUN
        )

    none = [""] * len(table)
    options = [
        [""] + [c for c in ids if valid(none[:i] + [c] + none[i + 1 :])] for i in range(len(table))
    ]
    best = 0.0
    for combo in itertools.product(*options):
        value = sum(pr[p] * h for p, h, c in zip(table["person_id"], table["hours"], combo) if c)
        if value > best + 1e-9 and valid(list(combo)):
            best = value
    return best


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_plan_is_as_good_as_brute_force(seed):
    rng = np.random.default_rng(seed)
    day_sets = ["Mon", "Mon;Tue", "Tue;Sat", "Sat", "Mon;Sat"]
    n_v = 4
    prov = []
    for i in range(n_v):
        prov.append((f"V{i}", rng.uniform(0, 4), rng.uniform(0, 4),
                     str(rng.choice(["all", "Mon;Tue", "weekends", "Mon;Sat"])),
                     float(rng.choice([4, 6, 8])), float(rng.choice([0, 2, 3])),
                     bool(rng.random() < 0.8)))  # fmt: skip
    prov[0] = (*prov[0][:3], "all", *prov[0][4:])  # V0 works every day: gives everyone's hours
    providers = providers_frame(prov)
    n_p = int(rng.integers(1, 4))
    people, rows = [], []
    for j in range(n_p):
        days = str(rng.choice(day_sets))
        k = bin(parse_days(days)).count("1")
        hours = k * 0.25 * int(rng.integers(2, 9))  # a quarter-hour multiple each day
        people.append((f"P{j}", rng.uniform(0, 4), rng.uniform(0, 4), hours, days,
                       int(rng.integers(1, 6))))  # fmt: skip
        cover = f"V{int(rng.integers(1, n_v))}"
        rows.append((f"P{j}", "V0", "", cover))
    study = box_study(people_frame(people), providers)
    matches = matches_frame(rows)
    # V0's own people's hours must fit its capacity
    own = sum(p[3] for p in people)
    study.providers.loc[0, "capacity_hours"] = own + 2
    study.providers.loc[0, "committed_hours"] = 0.0
    absences = absences_frame([("V0", MON, SUN, "all")])
    if rng.random() < 0.5:
        absences = absences_frame([("V0", MON, SUN, "all"), ("V1", MON, MON, "all")])
    plan = plan_and_check(study, matches, absences)
    table = plan.table()
    assert len(table) <= 6
    assert plan.status == "OPTIMAL"
    assert plan.objective == pytest.approx(brute_force_optimum(study, matches, absences, table))


# --- HiGHS and CP-SAT: the same models, the same answers --------------------------------------
@pytest.mark.parametrize("solver", ["highs", "cp-sat"])
def test_int_model_finds_a_knapsacks_optimum(solver):
    # items (value, weight) into two bins of room 10 and 7: brute force over every assignment
    items = [(9, 6), (8, 5), (6, 4), (5, 3), (4, 3), (3, 2)]
    rooms = [10, 7]
    m = IntModel()
    x = [[m.var(0, 1) for _ in rooms] for _ in items]
    for row in x:
        m.add([(1, v) for v in row], hi=1)
    for b, room in enumerate(rooms):
        m.add([(w, x[i][b]) for i, (_, w) in enumerate(items)], hi=room)
    objective = [(val, x[i][b]) for i, (val, _) in enumerate(items) for b in range(len(rooms))]
    best = 0
    for combo in itertools.product(range(len(rooms) + 1), repeat=len(items)):
        load = [sum(w for (_, w), c in zip(items, combo) if c == b) for b in range(len(rooms))]
        if all(ld <= r for ld, r in zip(load, rooms)):
            best = max(best, sum(v for (v, _), c in zip(items, combo) if c < len(rooms)))
    bad_hint = np.ones(len(m.lb), np.int64)  # breaks the rows: ignored, not trusted
    res = m.solve(objective, maximize=True, seconds=10, hint=bad_hint, solver=solver)
    assert res.status == "OPTIMAL" and res.value == best == res.bound
    assert m.holds(res.x) and not m.holds(bad_hint)


def test_highs_and_cp_sat_give_the_same_snow_week():
    # 14 providers with little room and 40 people in a 6 km square; 4 providers off a week:
    # needs compete for the room that is left, so the plan is a real packing problem
    rng = np.random.default_rng(5)
    day_sets = ["all", "weekdays", "Mon;Wed;Fri", "Tue;Thu;Sat", "weekends"]
    prov = [
        (f"V{i}", rng.uniform(0, 6), rng.uniform(0, 6), str(rng.choice(day_sets[:3])),
         40.0, float(rng.choice([28, 31, 33, 35])), bool(rng.random() < 0.85))
        for i in range(14)
    ]  # fmt: skip
    people, rows = [], []
    for j in range(40):
        days = str(rng.choice(["Mon;Tue", "Wed;Fri", "Mon;Thu", "Tue;Wed;Thu", "Fri"]))
        k = len(days.split(";"))
        hours = k * 0.5 * int(rng.integers(2, 7))
        people.append((f"P{j}", rng.uniform(0, 6), rng.uniform(0, 6), hours, days,
                       int(rng.integers(1, 6))))  # fmt: skip
        v = int(rng.integers(0, 4))  # the first four give everyone's hours (they work all days)
        rows.append((f"P{j}", f"V{v}", "", f"V{int(rng.integers(4, 14))}"))
    providers = providers_frame(prov)
    for v in range(4):
        providers.loc[v, ["days", "capacity_hours", "committed_hours"]] = ["all", 200.0, 0.0]
    providers["day_mask"] = [parse_days(d) for d in providers["days"]]
    study = box_study(people_frame(people), providers)
    matches = matches_frame(rows)
    absences = absences_frame([(f"V{v}", MON, SUN, "all") for v in range(4)])
    plans = {}
    for solver in ("highs", "cp-sat"):
        plan = cover_plan(study, matches, absences, MON, SUN, solver=solver)
        problems = check_cover_plan(study.people, study.providers, matches, absences,
                                    plan.table(), MON, SUN, objective=plan.objective)  # fmt: skip
        assert problems == []
        assert plan.status == "OPTIMAL"
        plans[solver] = plan
    s = plans["highs"].summary()
    assert s["hours_uncovered"] > 0 and s["hours_other_cover"] > 0  # room really runs short
    assert plans["highs"].objective == pytest.approx(plans["cp-sat"].objective)
    with pytest.raises(ValueError, match="unknown solver"):
        cover_plan(study, matches, absences, MON, SUN, solver="glpk")


# --- N-1 ----------------------------------------------------------------------------------------
def test_n_minus_one_matches_a_whole_week_plan_per_provider():
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),
        ("B", 1, 0, "weekdays", 8, 0, True),
        ("C", 2, 0, "all", 40, 38, True),
    ])  # fmt: skip
    people = people_frame([
        ("P1", 0.2, 0, 7.0, "all", 5), ("P2", 0.4, 0, 3.5, "Mon-Fri", 2),
        ("P3", 1.2, 0, 2.0, "Sat;Sun", 3),
    ])  # fmt: skip
    study = box_study(people, providers, absence_rate=0.2)
    matches = matches_frame([("P1", "A", "", "C"), ("P2", "B", "", "A"), ("P3", "A", "", "C")])
    res = n_minus_one(study, matches)
    by_id = res.providers.set_index("provider_id")
    for v in ("A", "B"):
        plan = plan_and_check(study, matches, absences_frame([(v, MON, SUN, "all")]))
        assert by_id.loc[v, "uncovered_if_absent_hours"] == pytest.approx(
            plan.summary()["hours_uncovered"]
        )
    assert by_id.loc["A", "uncovered_if_absent_hours"] > 0
    area = res.areas.set_index("area_code").loc["BOX"]
    worst = res.providers["uncovered_if_absent_hours"].max()
    assert area["worst_single_absence_hours"] == pytest.approx(worst)
    assert area["expected_uncovered_hours"] == pytest.approx(
        0.2 * res.providers["uncovered_if_absent_hours"].sum()
    )
    from gapmap.publish.cover import publish_resilience

    pub = publish_resilience(res.areas)
    assert pub.loc[0, "people_supported"] == "*"  # 3 people: suppressed
    assert math.isnan(pub.loc[0, "worst_single_absence_hours"])


# --- reading ------------------------------------------------------------------------------------
def test_read_absences_gathers_every_problem(tmp_path):
    providers = providers_frame([("A", 0, 0, "all", 40, 0, True), ("B", 1, 0, "all", 40, 0,
                                                                   True)])  # fmt: skip
    path = write(tmp_path, "absences.csv", "provider_id,from,to,days,reason\n"
                 "A,2026-12-07,2026-12-13,,sick\n"
                 "Z,2026-12-07,2026-12-13,,\n"
                 "B,2026-12-10,2026-12-09,,\n"
                 "A,2026-12-13,2026-12-20,weekends,\n"
                 "B,07/12/2026,2026-12-20,,\n"
                 "B,2026-12-01,2026-12-03,Sat,\n")  # fmt: skip
    with pytest.raises(InputError) as err:
        read_absences(path, providers)
    where = {(p.row, p.column) for p in err.value.problems}
    assert where == {(3, "provider_id"), (4, "to"), (5, "from"), (6, "from"), (7, "days")}
    assert "row 2" in str(err.value)  # the overlap names the other absence
    ok = write(tmp_path, "ok.csv", "provider_id,from,to,days\nA,2026-12-07,2026-12-09,\n"
               "A,2026-12-12,2026-12-20,weekends\n")  # fmt: skip
    frame = read_absences(ok, providers)
    assert list(frame.columns) == ["provider_id", "from", "to", "days", "reason"]
    assert frame["from"].iloc[0] == MON and frame["days"].tolist() == [127, 96]


def test_gapmap_cover_command(tmp_path, capsys):
    from gapmap.cli.commands import main

    providers = providers_frame([("A", 0, 0, "all", 40, 0, True), ("B", 1, 0, "weekdays", 40, 0,
                                                                   True)])  # fmt: skip
    providers.loc[1, "name"] = '=HYPERLINK("x")'
    people = people_frame([("P1", 0.2, 0, 2.0, "Mon;Sun", 3)])
    prov_csv, people_csv = tmp_path / "providers.csv", tmp_path / "people.csv"
    cols = ["provider_id", "name", "easting", "northing", "services", "days", "capacity_hours",
            "committed_hours", "cover", "phone"]  # fmt: skip
    providers.rename(columns={"x": "easting", "y": "northing"})[cols].to_csv(prov_csv, index=False)
    people.rename(columns={"x": "easting", "y": "northing"})[
        ["person_id", "easting", "northing", "hours", "days", "services", "priority"]
    ].to_csv(people_csv, index=False)
    matches_frame([("P1", "A", "", "B")]).to_csv(tmp_path / "matches.csv", index=False)
    write(tmp_path, "absences.csv", "provider_id,from,to\nA,2026-12-07,2026-12-13\n")
    out = tmp_path / "out"
    argv = [
        "cover",
        "--providers",
        str(prov_csv),
        "--people",
        str(people_csv),
        "--matches",
        str(tmp_path / "matches.csv"),
        "--absences",
        str(tmp_path / "absences.csv"),
        "--from",
        "2026-12-07",
        "--to",
        "2026-12-13",
        "--out",
        str(out),
        "--drop-outside",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "P1" in text and "Left without cover" in text and "Sundays" in text
    plan = pd.read_csv(out / "cover_plan.csv")
    assert list(plan.columns) == [
        "person_id",
        "day",
        "absent_provider_id",
        "role",
        "hours",
        "cover_provider_id",
        "status",
        "reason",
        "distance_km",
        "date",
    ]
    assert plan["status"].tolist() == ["named_cover", "uncovered"]
    summary = json.loads((out / "cover_summary.json").read_text())
    assert summary["hours_uncovered"] == 1.0 and summary["solver_status"] == "OPTIMAL"
    calls = pd.read_csv(out / "cover_calls.csv", encoding="utf-8-sig")
    assert calls["cover_name"].dropna().str.startswith("'=").all()  # never a formula
    import openpyxl

    book = openpyxl.load_workbook(out / "cover_plan.xlsx")
    assert {"Call list", "Left without cover", "Plan"} <= set(book.sheetnames)
    cells = [c.value for row in book["Call list"].iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    # bad input: exit 2, the earlier outputs kept
    write(tmp_path, "absences.csv", "provider_id,from,to\nZ,2026-12-07,2026-12-13\n")
    assert main(argv) == 2
    assert "column 'provider_id'" in capsys.readouterr().err
    assert (out / "cover_plan.csv").exists()
    matches = read_matches(tmp_path / "matches.csv")
    assert matches["provider_id"].tolist() == ["A"]


def test_demo_shows_a_week_off_and_n_minus_one(demo_run):
    rc, out_text, _, out = demo_run
    assert rc == 0
    assert "When a provider is off" in out_text and "Calls to make" in out_text
    assert "Resilience (N-1)" in out_text
    plan = pd.read_csv(out / "cover_plan.csv")
    assert len(plan) > 0 and set(plan["status"]) <= {"named_cover", "other_cover", "uncovered"}
    pub = pd.read_csv(out / "resilience.csv", dtype=str, encoding="utf-8-sig")
    assert "person_id" not in pub.columns
    small = pub["people_supported"] == "*"
    assert small.any() and pub.loc[small, "worst_single_absence_hours"].isna().all()
    shown = pd.to_numeric(pub.loc[~small, "worst_single_absence_hours"]).dropna()
    assert (shown % 5 == 0).all()
    import pyogrio

    assert "resilience" in [name for name, _ in pyogrio.list_layers(out / "gapmap.gpkg")]
    about = (out / "ABOUT_THESE_FILES.txt").read_text()
    assert "cover_plan.csv" in about and "resilience.csv" in about
    # the gap map has the N-1 layers, from the published (suppressed) figures only
    from gapmap.publish.palette import HOURS_COLOURS, WITHHELD

    from .test_maps import map_data

    data = map_data(out / "gap_map.html")
    assert [x["key"] for x in data["layers"]][:1] == ["unmet"]  # still the first shown
    keys = [x["key"] for x in data["layers"]]
    assert "n1_worst" in keys and "n1_expected" in keys
    codes = pd.read_csv(out / "gaps.csv", dtype=str, encoding="utf-8-sig")["area_code"]
    fills = {codes.iloc[f["properties"]["index"]]: f["properties"]["fill"]["n1_worst"]
             for f in data["areas"]["features"]}  # fmt: skip
    by_code = pub.set_index("area_code")
    for code in by_code.index[small.to_numpy()]:
        assert fills[code] == WITHHELD  # 1-7 people supported: withheld, never coloured
    worst = pd.to_numeric(by_code["worst_single_absence_hours"], errors="coerce")
    assert fills[worst.idxmax()] == HOURS_COLOURS[-1]
    none = worst.index[worst == 0]  # no hours uncovered by any single absence
    assert len(none) and all(fills[c] not in (WITHHELD, *HOURS_COLOURS) for c in none)
    html = (out / "gap_map.html").read_text(encoding="utf-8")
    assert "One provider off" in html
    assert not any(pid in html for pid in plan["person_id"].astype(str).head(20))
    # a sheet of gaps.xlsx and a paragraph of the report, published figures only
    from docx import Document
    from openpyxl import load_workbook

    wb = load_workbook(out / "gaps.xlsx", read_only=True)
    assert "Resilience (N-1)" in wb.sheetnames
    cells = [c for row in wb["Resilience (N-1)"].iter_rows(values_only=True) for c in row]
    assert "*" in cells and not set(map(str, plan["person_id"])) & set(map(str, cells))
    text = "\n".join(par.text for par in Document(str(out / "report.docx")).paragraphs)
    assert "If one provider were off (N−1 resilience)" in text
    assert "Resilience (N-1): a week off of any one of" in text
    assert not any(pid in text for pid in plan["person_id"].astype(str))


def test_room_counts_the_matches_once_and_absences_may_hold_timestamps():
    providers = providers_frame([
        ("A", 0, 0, "all", 40, 0, True),
        ("B", 1, 0, "all", 10, 7, True),  # its own person's 7 h: 3 h free before, 0 after
    ])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 7.0, "all", 3), ("P2", 1.1, 0, 7.0, "all", 3)])
    study = box_study(people, providers)
    matches = matches_frame([("P1", "A", "", "B"), ("P2", "B", "", "A")])
    absences = absences_frame([("A", MON, SUN, "all")])
    absences["from"] = pd.to_datetime(absences["from"])  # what a database may hand back
    absences["to"] = pd.to_datetime(absences["to"])
    # B's 7 committed hours are P2's: counted once, B has 3 h for P1
    once = cover_plan(study, matches, absences, MON, SUN, committed_includes_matches=True)
    assert once.summary()["hours_named_cover"] == pytest.approx(3.0)
    # committed hours are other bookings: B has no room left for P1 at all
    twice = plan_and_check(study, matches, absences)
    assert twice.summary()["hours_uncovered"] == pytest.approx(7.0)


def test_matches_naming_someone_unknown_are_an_input_error(tmp_path):
    from gapmap.cover.plan import arrangements

    providers = providers_frame([("A", 0, 0, "all", 40, 0, True)])
    study = box_study(people_frame([("P1", 0.2, 0, 7.0, "all", 3)]), providers)
    bad = matches_frame([("P1", "A", "", "Z"), ("P9", "A", "", "")])
    bad["row"] = [2, 3]
    with pytest.raises(InputError) as err:
        arrangements(study, bad, file="matches.csv")
    where = {(p.file, p.row, p.column) for p in err.value.problems}
    assert where == {("matches.csv", 2, "cover_provider_id"), ("matches.csv", 3, "person_id")}
    with pytest.raises(InputError):
        cover_plan(study, matches_frame([("P1", "A", "", "")]), absences_frame([]), SUN, MON)


def test_gapmap_resilience_command(tmp_path, capsys):
    from gapmap.cli.commands import main

    providers = providers_frame([("A", 0, 0, "all", 40, 0, True), ("B", 1, 0, "weekdays", 9, 0,
                                                                   True)])  # fmt: skip
    people = people_frame([("P1", 0.2, 0, 7.0, "all", 3), ("P2", 0.4, 0, 5.0, "weekdays", 2)])
    prov_csv, people_csv = tmp_path / "providers.csv", tmp_path / "people.csv"
    cols = ["provider_id", "name", "easting", "northing", "services", "days", "capacity_hours",
            "committed_hours", "cover"]  # fmt: skip
    providers.rename(columns={"x": "easting", "y": "northing"})[cols].to_csv(prov_csv, index=False)
    people.rename(columns={"x": "easting", "y": "northing"})[
        ["person_id", "easting", "northing", "hours", "days", "services", "priority"]
    ].to_csv(people_csv, index=False)
    matches_frame([("P1", "A", "", "B"), ("P2", "B", "", "A")]).to_csv(
        tmp_path / "matches.csv", index=False
    )
    out = tmp_path / "out"
    argv = [
        "resilience",
        "--providers",
        str(prov_csv),
        "--people",
        str(people_csv),
        "--matches",
        str(tmp_path / "matches.csv"),
        "--out",
        str(out),
        "--drop-outside",
    ]
    # the folder holds a gap analysis already: resilience adds to it (the map, a sheet, a layer)
    gaps_argv = ["gaps", "--providers", str(prov_csv), "--people", str(people_csv), "--out",
                 str(out), "--drop-outside"]  # fmt: skip
    assert main(gaps_argv) == 0
    import pyogrio

    from .test_maps import map_data

    before = {name for name, _ in pyogrio.list_layers(out / "gapmap.gpkg")}
    assert "n1_worst" not in [x["key"] for x in map_data(out / "gap_map.html")["layers"]]
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "Resilience (N-1)" in said and "gap_map.html (the gap map with the N-1 layers)" in said
    keys = [x["key"] for x in map_data(out / "gap_map.html")["layers"]]
    assert keys[0] == "unmet" and "n1_worst" in keys and "n1_expected" in keys
    after = {name for name, _ in pyogrio.list_layers(out / "gapmap.gpkg")}
    assert after == before | {"resilience"}  # the gap layers kept, N-1 added beside them
    from openpyxl import load_workbook

    sheets = load_workbook(out / "gaps.xlsx", read_only=True).sheetnames
    assert "Resilience (N-1)" in sheets and len(sheets) > 1
    exact = pd.read_csv(out / "internal_providers_n1.csv", encoding="utf-8-sig")
    by_id = exact.set_index("provider_id")["uncovered_if_absent_hours"]
    # A off: B (weekdays, 9 h room less P2's 5 h) takes 4 of P1's 5 weekday hours; weekend lost
    assert by_id["A"] == pytest.approx(3.0)
    assert by_id["B"] == pytest.approx(0.0)  # A takes P2's 5 h
    pub = pd.read_csv(out / "resilience.csv", encoding="utf-8-sig", dtype=str)
    assert (pub["people_supported"].isin(["*", "0"])).all()  # 2 people: never shown exactly
    assert "P1" not in (out / "resilience.csv").read_text(encoding="utf-8-sig")
