"""The ``gapmap`` command line: parses options, calls the API, turns errors into exit codes.

Exit codes: 0 success, 2 bad input (the message names file, row and column), 1 anything else.
No analysis lives here.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import __version__
from .errors import InputError

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports option mistakes as input errors (exit 2) with our wording."""

    def error(self, message: str):  # type: ignore[override]
        raise InputError(
            f"{self.prog}: {message} ('{self.prog} --help' lists the options)", file="command line"
        )


def _finite(text: str) -> float:
    """argparse type: a finite number (``nan`` and ``inf`` are typing mistakes here)."""
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text!r}")
    return v


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- shared option groups ----------------------------------------------------------------------
def _add_area_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("areas")
    g.add_argument(
        "--areas",
        type=Path,
        help="polygon layer of areas (default: built-in Kent postcode sectors)",
    )
    g.add_argument(
        "--area-code-column",
        help="column holding the area code (ONS columns are found by themselves)",
    )
    g.add_argument("--area-name-column", help="column holding the area name")
    g.add_argument("--district-column", help="column holding the district code")
    g.add_argument("--district-name-column", help="column holding the district name")
    g.add_argument("--rural-column", help="column holding a rural flag or ONS RUC code")
    g.add_argument(
        "--drop-outside",
        action="store_true",
        help="do not stop at records outside every area: leave them out of the area figures "
        "(gaps, recruit, check) or let them come out unmatched (match)",
    )
    g.add_argument(
        "--snap-km",
        type=_finite,
        default=2.0,
        help="points this far outside every area go to the nearest (default 2)",
    )


def _add_postcode_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--postcode-file",
        type=Path,
        help="an ONS postcode file (ONSPD/NSPL CSV) to "
        "geocode with, instead of the built-in ONS Postcode Directory",
    )


def _directory(args):
    from .postcodes import PostcodeDirectory, default_directory

    return PostcodeDirectory(args.postcode_file) if args.postcode_file else default_directory()


def _areas(args):
    from .areas import read_areas
    from .builtin import load_builtin_areas

    if args.areas is None:
        return load_builtin_areas()
    return read_areas(
        args.areas,
        code_column=args.area_code_column,
        name_column=args.area_name_column,
        district_column=args.district_column,
        district_name_column=args.district_name_column,
        rural_column=args.rural_column,
    )


def _check_snap(args) -> float:
    if args.snap_km < 0:
        raise InputError("--snap-km must be 0 or more", file="command line")
    return args.snap_km * 1000.0


# --- commands ---------------------------------------------------------------------------------
def _print_placement(areas, providers, people) -> None:
    from .registers import placement_summary

    table = placement_summary(areas, providers, people)
    _say(
        f"{'district':<24}{'areas':>7}{'providers':>11}{'capacity h':>12}{'people':>8}{'need h':>9}"
    )
    for r in table.itertuples():
        _say(
            f"{r.Index!s:<24}{r.areas:>7}{r.providers:>11}{r.capacity_hours:>12,.0f}"
            f"{r.people:>8}{r.need_hours:>9,.0f}"
        )
    tot = table.sum(numeric_only=True)
    _say(
        f"{'Total':<24}{int(tot['areas']):>7}{int(tot['providers']):>11}"
        f"{tot['capacity_hours']:>12,.0f}{int(tot['people']):>8}{tot['need_hours']:>9,.0f}"
    )
    for label, reg in (("providers", providers), ("people", people)):
        snapped = int((reg["snapped_m"] > 0).sum())
        if snapped:
            _say(
                f"  {snapped} {label} just outside every area were placed in the nearest one "
                f"(at most {reg['snapped_m'].max():,.0f} m away)"
            )
        unplaced = reg.attrs.get("unplaced", [])
        if unplaced:
            rows = ", ".join(str(r) for r in unplaced[:10])
            _say(
                f"  {len(unplaced)} {label} are outside every area and left out "
                f"(rows {rows}{' ...' if len(unplaced) > 10 else ''})"
            )


def cmd_demo(args) -> int:
    from .builtin import builtin_path, load_builtin_areas
    from .demo import demo_paths, write_demo_registers
    from .registers import place_in_areas, read_people, read_providers

    t0 = time.perf_counter()
    if not builtin_path().exists():
        _note(f"Building the Kent postcode-sector geography (once) into {builtin_path()} ...")
    areas = load_builtin_areas()
    prov_path, people_path = demo_paths()
    if not (prov_path.exists() and people_path.exists()):
        _note(f"Writing the demo registers (once) into {prov_path.parent} ...")
        write_demo_registers()
    providers = read_providers(prov_path)
    people = read_people(people_path)
    providers = place_in_areas(providers, areas)
    people = place_in_areas(people, areas)
    _say("gapmap demo: the embedded Kent default")
    _say(
        f"  areas     {len(areas):>6}  built-in Kent postcode sectors "
        f"({areas['district_code'].nunique()} districts)"
    )
    _say(f"  providers {len(providers):>6}  synthetic, at real Kent postcodes ({prov_path})")
    _say(
        f"            capacity {providers['capacity_hours'].sum():,.0f} h a week, "
        f"{providers['committed_hours'].sum():,.0f} h already booked, mean "
        f"{providers['capacity_hours'].mean():.1f} h per provider"
    )
    _say(f"  people    {len(people):>6}  synthetic waiting list ({people_path})")
    _say(
        f"            need {people['hours'].sum():,.0f} h a week, mean "
        f"{people['hours'].mean():.1f} h per person; "
        f"{int((~people['self_directing']).sum())} not self-directing, "
        f"{int(people['regulated_care'].sum())} need regulated personal care"
    )
    _say("")
    _print_placement(areas, providers, people)
    _say("")
    _say("Gap analysis (2SFCA coverage of need by providers in reach):")
    result, _ = _run_gaps(
        areas,
        providers.drop(columns=["area_code", "snapped_m"]),
        people.drop(columns=["area_code", "snapped_m"]),
        args,
        args.out,
        title="gapmap demo: micro-provider gaps in Kent (synthetic registers)",
    )
    _print_gaps(result, args.out)
    _say("")
    _say("Batch matching of the waiting list (provider, partner and cover for each person):")
    plain_people = people.drop(columns=["area_code", "snapped_m"])
    best, greedy, _ = _run_match(
        providers.drop(columns=["area_code", "snapped_m"]), plain_people, args, args.out
    )
    _print_match(best, greedy, plain_people, args.out)
    _say("")
    from .matching.suggest import Suggester, person_request
    from .postcodes import default_directory

    suggester = Suggester(providers, absence_rate=args.absence_rate)
    for postcode, hours, days, services in (
        ("CT1 2AA", 6, "Mon;Wed;Sat", "domestic;social"),
        ("TN23 1PL", 4, "weekdays", "social"),
    ):
        loc = default_directory().lookup([postcode]).iloc[0]
        _say(
            f"Suggestions for someone at {postcode} needing {hours} h a week on {days} "
            f"({services}):"
        )
        req = person_request(x=loc["x"], y=loc["y"], hours=hours, days=days, services=services)
        _print_suggestions(suggester.suggest(req, top=2), as_json=False)
        _say("")
    _say("Recruitment targeting: where new micro-providers would close the most unmet need")
    ropts = _recruit_options(args)
    rec, _ = _run_recruit(
        result, areas, providers.drop(columns=["area_code", "snapped_m"]),
        people.drop(columns=["area_code", "snapped_m"]), args, args.out,
        title="gapmap demo: where to recruit micro-providers (synthetic registers)",
        ks=_parse_ks(args.new_providers), opts=ropts,
    )  # fmt: skip
    _print_recruit(rec, ropts, args.out)
    _say("")
    _say(f"Done in {time.perf_counter() - t0:.1f} s.")
    return EXIT_OK


def _gap_options(args):
    from .gaps import GapOptions

    opts = GapOptions(
        coverage_threshold=args.coverage_threshold,
        weekend_threshold=args.weekend_threshold,
        rural_distance_km=args.rural_distance_km,
        weekend_weight=args.weekend_weight,
        rural_weight=args.rural_weight,
        rural_postcodes_per_km2=args.rural_density,
        enhanced=args.enhanced,
        circuity=args.circuity,
        snap_m=_check_snap(args),
    )
    opts.validate()
    return opts


def _add_gap_options(p: argparse.ArgumentParser) -> None:
    from .gaps import GapOptions

    d = GapOptions()
    g = p.add_argument_group("gap rules (README: 'How gaps are flagged')")
    g.add_argument(
        "--rural",
        type=Path,
        help="rural classification table (ONS RUC per area, or per LSOA with --rural-lookup)",
    )
    g.add_argument(
        "--rural-lookup",
        type=Path,
        help="lookup from the rural table's codes to the area codes (e.g. ONS LSOA->ward best fit)",
    )
    g.add_argument(
        "--coverage-threshold",
        type=_finite,
        default=d.coverage_threshold,
        help=f"rural gap below this coverage (default {d.coverage_threshold})",
    )
    g.add_argument(
        "--weekend-threshold",
        type=_finite,
        default=d.weekend_threshold,
        help=f"weekend gap below this weekend coverage (default {d.weekend_threshold})",
    )
    g.add_argument(
        "--rural-distance-km",
        type=_finite,
        default=d.rural_distance_km,
        help=f"rural gap if the nearest provider is further (default {d.rural_distance_km:g})",
    )
    g.add_argument("--weekend-weight", type=_finite, default=d.weekend_weight)
    g.add_argument("--rural-weight", type=_finite, default=d.rural_weight)
    g.add_argument(
        "--rural-density",
        type=_finite,
        default=d.rural_postcodes_per_km2,
        help="fallback: rural below this many postcodes per km² (default 20)",
    )
    g.add_argument(
        "--enhanced",
        action="store_true",
        help="enhanced 2SFCA with Gaussian distance decay (default off)",
    )
    g.add_argument(
        "--circuity",
        type=_finite,
        default=d.circuity,
        help="scale straight-line distance toward road distance (default 1.0)",
    )
    g.add_argument(
        "--census", type=Path, help="Census age table (ONS TS007A) to estimate need from population"
    )
    g.add_argument(
        "--rates",
        type=Path,
        help="rate table for --census (default data/need_rates_adl_hse2014.csv)",
    )
    g.add_argument("--census-lookup", type=Path, help="lookup from census codes to area codes")
    g.add_argument(
        "--census-areas",
        type=Path,
        help="boundaries of the census units, to place them in the areas by location",
    )
    g.add_argument(
        "--internal",
        action="store_true",
        help="also write internal_gaps_exact.csv "
        "with exact, unsuppressed figures (not to be shared)",
    )


def _run_gaps(areas, providers, people, args, out: Path, title: str):
    from .outputs import write_gap_outputs

    t0 = time.perf_counter()
    result = _analyse_gaps(areas, providers, people, args)
    t1 = time.perf_counter()
    _note(f"  analysed {len(result.reach):,} eligible person-provider pairs in {t1 - t0:.2f} s")
    paths = write_gap_outputs(result, out, internal=args.internal, title=title)
    _note(f"  wrote {', '.join(paths)} in {time.perf_counter() - t1:.1f} s")
    return result, paths


def _analyse_gaps(areas, providers, people, args):
    from .areas import read_rural_classification
    from .gaps import gap_analysis

    opts = _gap_options(args)
    rural = None
    if getattr(args, "rural", None) is not None:
        rural = read_rural_classification(args.rural, lookup=args.rural_lookup)
    estimated = None
    if getattr(args, "census", None) is not None:
        from .need import estimated_demand

        estimated = estimated_demand(
            areas,
            args.census,
            rates_path=args.rates,
            lookup=args.census_lookup,
            census_areas=args.census_areas,
        )
    elif getattr(args, "census_lookup", None) or getattr(args, "census_areas", None):
        raise InputError("--census-lookup and --census-areas go with --census", file="command line")
    return gap_analysis(areas, providers, people, rural=rural, estimated=estimated, options=opts)


def _print_gaps(result, out: Path, top: int = 8) -> None:
    t = result.table
    need, acc, unmet = t["need_hours"].sum(), t["accessible_hours"].sum(), t["unmet_hours"].sum()
    wneed, wacc = t["weekend_need_hours"].sum(), t["weekend_accessible_hours"].sum()
    _say(
        f"Need {need:,.0f} h a week; providers in reach could give {acc:,.0f} h "
        f"({acc / need:.0%}); unmet {unmet:,.0f} h."
        if need
        else "No need in the register."
    )
    if wneed:
        _say(f"Weekend: need {wneed:,.0f} h, in reach {wacc:,.0f} h ({wacc / wneed:.0%}).")
    _say(
        f"Areas: {len(t)}; high gap {int((t['gap_band'] == 'high').sum())}, medium "
        f"{int((t['gap_band'] == 'medium').sum())}; weekend gaps {int(t['weekend_gap'].sum())}; "
        f"rural gaps {int(t['rural_gap'].sum())} (of {int(t['rural'].sum())} rural areas)."
    )
    if "estimated_need_hours" in t:
        est, eacc = t["estimated_need_hours"].sum(), t["estimated_accessible_hours"].sum()
        _say(
            f"Estimated need from population: {est:,.0f} h a week; providers in reach could give "
            f"{eacc:,.0f} h of it ({eacc / est:.1%})."
        )
    for note in result.notes:
        _say(f"  ({note})")
    worst = t[t["people"] > 7].sort_values("gap_score", ascending=False).head(top)
    if len(worst):
        _say("Largest gaps (areas with more than 7 people; figures rounded to 5):")
        for r in worst.itertuples():
            flags = [
                f for f, on in (("rural gap", r.rural_gap), ("weekend gap", r.weekend_gap)) if on
            ]
            _say(
                f"  {r.area_name[:28]:<28} {r.district[:20]:<20} coverage "
                f"{r.coverage_ratio:>4.0%}  unmet ~{5 * round(r.unmet_hours / 5):>4.0f} h"
                + (f"  [{', '.join(flags)}]" if flags else "")
            )
    _say(f"Outputs in {out}/: gaps.csv, gaps.gpkg, gap_map.html, gap_map.png")


def _load_inputs(args, *, people_required: bool):
    """Areas and both registers, with every register problem reported together."""
    from .registers import read_people, read_providers

    directory = _directory(args)
    areas = _areas(args)
    for note in areas.attrs.get("notes", []):
        _note("note: " + note)
    errors: list = []
    providers = people = None
    try:
        providers = read_providers(args.providers, postcodes=directory)
    except InputError as exc:
        errors += exc.problems
    if args.people is not None or people_required:
        try:
            people = read_people(args.people, postcodes=directory)
        except InputError as exc:
            errors += exc.problems
    if not errors and not args.drop_outside:
        from .registers import outside_problems

        snap = _check_snap(args)
        for reg, path, what in (
            (providers, args.providers, "providers"),
            (people, args.people, "people"),
        ):
            if reg is not None:
                errors += outside_problems(reg, areas, file=str(path), what=what, snap_m=snap)
    if errors:
        raise InputError(errors)
    return areas, providers, people


def cmd_gaps(args) -> int:
    areas, providers, people = _load_inputs(args, people_required=True)
    result, _ = _run_gaps(
        areas, providers, people, args, args.out, title="gapmap: micro-provider gaps"
    )
    _print_gaps(result, args.out)
    return EXIT_OK


def _recruit_options(args):
    from .recruitment import RecruitOptions

    opts = RecruitOptions(
        radius_km=args.radius_km,
        hours_per_provider=args.hours_per_provider,
        per_site=args.per_site,
        weekend_working=args.weekend_working,
        services=args.recruit_services,
        need=args.need,
        time_limit_s=args.time_limit,
        home_care_rate=args.home_care_rate,
        micro_rate=args.micro_rate,
        direct_payment_rate=args.direct_payment_rate,
        weeks_per_year=args.weeks_per_year,
    )
    opts.validate()
    return opts


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(t) for t in str(text).replace(" ", "").split(",") if t]
    except ValueError:
        ks = []
    if not ks or any(k < 1 for k in ks):
        raise InputError(
            "--new-providers must be whole numbers of 1 or more, separated by commas, "
            f"not {text!r}",
            file="command line",
        )
    return ks


def _run_recruit(result, areas, providers, people, args, out: Path, title: str, ks, opts):
    from .outputs import write_recruit_outputs
    from .recruitment import recruit

    t0 = time.perf_counter()
    rec = recruit(
        result, areas, providers, people, ks, options=opts, gap_options=_gap_options(args),
        say=_note,
    )  # fmt: skip
    paths = write_recruit_outputs(rec, result.providers, out, options=opts, title=title)
    _note(f"  placed and wrote {', '.join(paths)} in {time.perf_counter() - t0:.1f} s")
    return rec, paths


def _clip(text, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_recruit(rec, opts, out: Path, top: int = 5) -> None:
    from .recruitment import publish_ranking, publish_scenarios

    for note in rec.notes:
        _say(f"  ({note})")
    scen = publish_scenarios(rec.scenarios)
    _say(
        "'placed': new providers that would have hours to take (fewer than asked when they run "
        "out); coverage: hours in reach / need"
    )
    _say(
        f"{'new providers':>13} {'placed':>6} {'hours taken':>12} {'of unmet':>9} "
        f"{'coverage':>15} {'weekend gaps':>13} {'rural gaps':>11} {'saving a year':>14}"
    )
    for r in scen.itertuples():
        _say(
            f"{r.new_providers:>13} {r.providers_placed:>6} {r.hours_taken:>10,.0f} h "
            f"{r.share_of_unmet_taken:>8.0%} {r.coverage_before:>6.0%} -> {r.coverage_after:>4.0%} "
            f"{r.weekend_gaps_before:>5} -> {r.weekend_gaps_after:<4} "
            f"{r.rural_gaps_before:>4} -> {r.rural_gaps_after:<4} "
            f"£{r.saving_per_year_vs_home_care:>12,.0f}"
        )
    _say(
        f"  saving = hours taken × {opts.weeks_per_year:g} weeks × (home care "
        f"£{opts.home_care_rate:.2f} − micro-provider £{opts.micro_rate:.2f} an hour); "
        "figures rounded"
    )
    ranking = publish_ranking(rec.areas, opts)
    head = ranking[ranking["priority_rank"] > 0].head(top)
    if len(head):
        _say("Where to look first:")
        for r in head.itertuples():
            _say(
                f"  {r.priority_rank:>3}. {_clip(r.area_name, 28):<28} "
                f"{_clip(r.district, 20):<20} {r.reason}"
            )
    _say(
        f"Outputs in {out}/: recruit_areas.csv, recruit_areas.gpkg, recruit_sites.csv, "
        "recruit_scenarios.csv, recruit_scenarios.png, recruit_map.html"
    )


def cmd_recruit(args) -> int:
    areas, providers, people = _load_inputs(args, people_required=True)
    ks, opts = _parse_ks(args.new_providers), _recruit_options(args)  # before the long work
    result = _analyse_gaps(areas, providers, people, args)
    rec, _ = _run_recruit(
        result, areas, providers, people, args, args.out,
        title="gapmap: where to recruit micro-providers", ks=ks, opts=opts,
    )  # fmt: skip
    _print_recruit(rec, opts, args.out)
    return EXIT_OK


def _add_recruit_options(p: argparse.ArgumentParser, *, ks: str, time_limit: float) -> None:
    from .recruitment import UNIT_COSTS, RecruitOptions

    d = RecruitOptions()
    g = p.add_argument_group("recruitment (README: 'Recruitment targeting')")
    g.add_argument(
        "--new-providers",
        default=ks,
        metavar="K[,K...]",
        help=f"how many new providers to place, one scenario each (default {ks})",
    )
    g.add_argument(
        "--radius-km",
        type=_finite,
        default=d.radius_km,
        help=f"how far a new provider travels (default {d.radius_km:g})",
    )
    g.add_argument(
        "--hours-per-provider",
        type=_finite,
        default=d.hours_per_provider,
        help=f"hours a week each new provider gives (default {d.hours_per_provider:g})",
    )
    g.add_argument(
        "--per-site",
        type=int,
        default=d.per_site,
        help=f"at most this many new providers in one area (default {d.per_site})",
    )
    g.add_argument(
        "--weekend-working",
        action="store_true",
        help="new providers work every day (default: weekdays only, like most)",
    )
    g.add_argument(
        "--recruit-services",
        default=d.services,
        help=f"services new providers offer (default {d.services})",
    )
    g.add_argument(
        "--need",
        choices=["auto", "register", "estimated"],
        default=d.need,
        help="demand: the register's unmet hours, or estimated need (auto: estimated "
        "when --census is given)",
    )
    for key, flag in (
        ("home_care", "--home-care-rate"),
        ("micro_provider", "--micro-rate"),
        ("direct_payment", "--direct-payment-rate"),
    ):
        value, source = UNIT_COSTS[key]
        g.add_argument(
            flag, type=_finite, default=value, help=f"£ an hour, default {value:.2f}: {source}"
        )
    g.add_argument("--weeks-per-year", type=_finite, default=d.weeks_per_year)
    if "--time-limit" not in p._option_string_actions:
        g.add_argument("--time-limit", type=_finite, default=time_limit,
                       help=f"seconds for each solve (default {time_limit:g})")  # fmt: skip


def _match_options(args):
    from .matching import MatchOptions

    opts = MatchOptions(
        absence_rate=args.absence_rate,
        allow_without_cover=args.allow_without_cover,
        circuity=args.circuity,
        time_limit_s=args.time_limit,
        max_candidates=args.candidates,
        workers=args.workers,
    )
    opts.validate()
    return opts


def _add_match_options(
    p: argparse.ArgumentParser, *, batch: bool, time_limit: float = 60.0, circuity: bool = True
) -> None:
    g = p.add_argument_group("matching rules")
    g.add_argument(
        "--absence-rate",
        type=_finite,
        default=0.15,
        help="share of a covered person's hours a cover provider keeps free (0.15)",
    )
    g.add_argument(
        "--allow-without-cover",
        action="store_true",
        help="match people who need cover even when no cover provider is free",
    )
    if batch:
        g.add_argument(
            "--time-limit",
            type=_finite,
            default=time_limit,
            help=f"seconds for the solver (default {time_limit:g})",
        )
        g.add_argument(
            "--candidates",
            type=int,
            default=10,
            help="nearest candidates kept per role and day class (default 10)",
        )
        g.add_argument("--workers", type=int, default=2, help="solver threads (default 2)")
    if batch and circuity:
        g.add_argument(
            "--circuity",
            type=_finite,
            default=1.0,
            help="scale straight-line distance toward road distance (default 1.0)",
        )


def _run_match(providers, people, args, out: Path):
    from .matching import match
    from .outputs import write_match_outputs

    settings = _match_options(args)
    _note(
        f"Matching {len(people):,} people to {len(providers):,} providers "
        f"(time limit {settings.time_limit_s:g} s) ..."
    )
    best, greedy = match(people, providers, settings, say=_note)
    paths = write_match_outputs(best, greedy, people, providers, settings, out)
    return best, greedy, paths


def _print_match(best, greedy, people, out: Path) -> None:
    from collections import Counter

    hours = people["hours"].to_numpy()
    mh = sum(hours[p] for p in best.matches)
    gh = sum(hours[p] for p in greedy.matches)
    _say(
        f"Matched {len(best.matches):,} of {len(people):,} people ({mh:,.0f} h a week); "
        f"greedy by hand: {len(greedy.matches):,} ({gh:,.0f} h)."
    )
    gap = best.gap
    _say(
        f"Priority-hours {best.objective:,.0f} (greedy {greedy.objective:,.0f}, "
        f"x{best.objective / greedy.objective if greedy.objective else 0:.3f}); "
        f"best bound {best.best_bound:,.0f}"
        + (f", within {gap:.1%} of it" if gap is not None else "")
        + f"; solver {best.status}, {best.seconds:.1f} s."
    )
    reasons = Counter(best.reasons.values())
    if reasons:
        _say(
            "Not matched: "
            + ", ".join(
                f"{n} {r.replace('_', ' ')}"
                for r, n in sorted(reasons.items(), key=lambda t: -t[1])
            )
        )
    _say(f"Outputs in {out}/: matches.csv (internal: person ids), summary.json")


def cmd_match(args) -> int:

    _, providers, people = _load_inputs(args, people_required=True)
    best, greedy, _ = _run_match(providers, people, args, args.out)
    _print_match(best, greedy, people, args.out)
    return EXIT_OK


def _print_suggestions(result, as_json: bool) -> None:
    import json

    if as_json:
        _say(json.dumps(result.as_dict(), indent=2))
        return
    if result.status != "ok":
        _say(result.advice)
    for i, s in enumerate(result.suggestions, 1):
        _say(
            f"{i}. {s.name} ({s.provider_id}), {s.distance_km:.1f} km: gives {s.hours_given:g} h "
            f"on {s.days_given}"
        )
        if s.partner_id:
            _say(
                f"   partner: {s.partner_name} ({s.partner_id}), {s.partner_distance_km:.1f} km: "
                f"{s.partner_hours:g} h on {s.partner_days}"
            )
        if s.cover_id:
            _say(f"   cover:   {s.cover_name} ({s.cover_id}), {s.cover_distance_km:.1f} km")
        _say(f"   why: {s.why}")
    if result.left_out:
        _say("Nearer providers left out:")
        for r in result.left_out:
            _say(f"   {r['name']} ({r['provider_id']}), {r['distance_km']:.1f} km: {r['why']}")


def _suggest_request(args):
    from .matching.suggest import request_from_fields

    return request_from_fields(
        postcode=args.postcode,
        lat=args.lat,
        lon=args.lon,
        hours=args.hours,
        days=args.days,
        services=args.services,
        max_travel_km=args.max_travel_km,
        needs_cover=args.needs_cover == "yes",
        self_directing=args.self_directing == "yes",
        regulated_care=args.regulated_care,
        directory=_directory(args),
        areas=_areas(args),
        snap_m=_check_snap(args),
        source="command line",
    )


def cmd_suggest(args) -> int:
    from .matching.suggest import Suggester
    from .registers import read_providers

    if args.top < 1:
        raise InputError("--top must be at least 1", file="command line")
    try:
        person, _ = _suggest_request(args)
    except InputError as exc:  # name the options as typed
        raise InputError(
            [
                replace(p, column="--" + p.column.replace("_", "-")) if p.column else p
                for p in exc.problems
            ]
        ) from None
    providers = read_providers(args.providers, postcodes=_directory(args))
    suggester = Suggester(
        providers, absence_rate=args.absence_rate, allow_without_cover=args.allow_without_cover
    )
    _print_suggestions(suggester.suggest(person, top=args.top, explain=args.explain), args.json)
    return EXIT_OK


def cmd_serve(args) -> int:
    import ipaddress
    import logging

    import uvicorn

    from .serve import Register, create_app

    if not 0 < args.port < 65536:
        raise InputError("--port must be from 1 to 65535", file="command line")
    token = args.token
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(
                f"cannot read the token file: {exc}", file=str(args.token_file)
            ) from None
        if not token:
            raise InputError("the token file is empty", file=str(args.token_file))
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback and not token:
        raise InputError(
            f"--host {args.host} would let other machines in; give --token-file as well "
            "(or keep the default 127.0.0.1)",
            file="command line",
        )
    register = Register(
        args.providers,
        directory=_directory(args),
        absence_rate=args.absence_rate,
        allow_without_cover=args.allow_without_cover,
    )
    register.load()  # a bad register stops here with exit 2
    app = create_app(register, areas=_areas(args), token=token, snap_m=_check_snap(args))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    _say(f"gapmap signposting: {len(register.suggester.providers)} providers from {args.providers}")
    _say(f"  open http://{args.host}:{args.port}/ in a browser (Ctrl+C stops it)")
    if token:
        _say("  an access token is needed")
    # access_log off: request lines are not logged (nothing a person typed reaches a log)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return EXIT_OK


def cmd_check(args) -> int:
    from .registers import place_in_areas

    areas, providers, people = _load_inputs(args, people_required=False)
    snap = _check_snap(args)
    providers = place_in_areas(providers, areas, snap_m=snap)
    if people is None:
        import pandas as pd

        people = pd.DataFrame(columns=["person_id", "hours", "area_code", "snapped_m"])
        people.attrs["unplaced"] = []
    else:
        people = place_in_areas(people, areas, snap_m=snap)
    _say(f"{args.providers}: {len(providers)} providers, all rules met")
    if args.people is not None:
        _say(f"{args.people}: {len(people)} people, all rules met")
    _say(f"areas: {len(areas)} from {areas.attrs.get('source', '')}")
    _say("")
    _print_placement(areas, providers, people)
    return EXIT_OK


def cmd_build_geography(args) -> int:
    from .builtin import builtin_path, write_builtin

    path = args.out or builtin_path()
    _note(f"Building Kent postcode sectors from the ONS Postcode Directory into {path} ...")
    t0 = time.perf_counter()
    areas = write_builtin(path)
    _say(
        f"{len(areas)} sectors, {int(areas['postcodes'].sum()):,} postcodes, "
        f"{areas.geometry.area.sum() / 1e6:,.0f} km², in {time.perf_counter() - t0:.1f} s: {path}"
    )
    return EXIT_OK


def cmd_make_demo(args) -> int:
    from .demo import SCALES, write_demo_registers

    size = SCALES[args.scale]
    providers = args.providers if args.providers is not None else size.providers
    people = args.people if args.people is not None else size.people
    if providers < 1 or people < 1:
        raise InputError("--providers and --people must be at least 1", file="command line")
    p, q = write_demo_registers(args.out, providers=providers, people=people, seed=args.seed)
    _say(f"{providers} providers -> {p}")
    _say(f"{people} people -> {q}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .demo import DEFAULT_SCALE, DEFAULT_SEED, SCALES

    parser = _Parser(
        prog="gapmap",
        description="Gap analysis and matching for adult social care micro-providers in Kent.",
    )
    parser.add_argument("--version", action="version", version=f"gapmap {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("demo", help="run the whole pipeline on the embedded Kent default")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("gapmap-demo"),
        help="folder for the outputs (default ./gapmap-demo)",
    )
    _add_gap_options(p)
    _add_match_options(p, batch=True, time_limit=20.0, circuity=False)
    _add_recruit_options(p, ks="60,223,416", time_limit=20.0)
    p.set_defaults(func=cmd_demo, areas=None, snap_km=2.0, drop_outside=False)

    p = sub.add_parser("gaps", help="gap analysis: need against provider coverage, by area")
    p.add_argument("--providers", type=Path, required=True)
    p.add_argument("--people", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the outputs")
    _add_area_options(p)
    _add_postcode_options(p)
    _add_gap_options(p)
    p.set_defaults(func=cmd_gaps)

    p = sub.add_parser("recruit", help="where new micro-providers would close the most unmet need")
    p.add_argument("--providers", type=Path, required=True)
    p.add_argument("--people", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the outputs")
    _add_area_options(p)
    _add_postcode_options(p)
    _add_gap_options(p)
    _add_recruit_options(p, ks="60,223,416", time_limit=30.0)
    p.set_defaults(func=cmd_recruit)

    p = sub.add_parser("match", help="batch matching of a waiting list with OR-Tools CP-SAT")
    p.add_argument("--providers", type=Path, required=True)
    p.add_argument("--people", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for matches.csv, summary.json")
    _add_match_options(p, batch=True)
    _add_area_options(p)
    _add_postcode_options(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("suggest", help="ranked providers, with partner and cover, for one person")
    p.add_argument("--providers", type=Path, required=True)
    p.add_argument("--postcode", help="the person's postcode (its centroid is used)")
    p.add_argument("--lat", type=_finite)
    p.add_argument("--lon", type=_finite)
    p.add_argument("--hours", type=_finite, required=True, help="hours a week needed")
    p.add_argument("--days", required=True, help="e.g. Mon;Thu, Mon-Fri, weekends, all")
    p.add_argument("--services", required=True, help="e.g. domestic;social")
    p.add_argument("--max-travel-km", type=_finite, help="the person's own travel limit")
    p.add_argument("--needs-cover", choices=["yes", "no"], default="yes")
    p.add_argument("--self-directing", choices=["yes", "no"], default="yes")
    p.add_argument(
        "--regulated-care",
        action="store_true",
        help="needs regulated personal care (CQC-registered providers only)",
    )
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--explain", action="store_true", help="also say why nearer providers were left out"
    )
    _add_match_options(p, batch=False)
    _add_area_options(p)
    _add_postcode_options(p)
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("serve", help="the signposting web page and JSON API (local)")
    p.add_argument("--providers", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", help=argparse.SUPPRESS)  # for tests; prefer --token-file
    p.add_argument(
        "--token-file",
        type=Path,
        help="a file holding an access token that every page and call must give",
    )
    _add_match_options(p, batch=False)
    _add_area_options(p)
    _add_postcode_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("check", help="validate registers and show where they fall")
    p.add_argument("--providers", type=Path, required=True)
    p.add_argument("--people", type=Path)
    _add_area_options(p)
    _add_postcode_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "build-geography", help="(re)build the built-in Kent postcode-sector geography"
    )
    p.add_argument("--out", type=Path, help="where to write it (default: boundaries/)")
    p.set_defaults(func=cmd_build_geography)

    p = sub.add_parser("make-demo", help="write synthetic demo registers at real Kent postcodes")
    p.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default=DEFAULT_SCALE,
        help="; ".join(f"{k}: {v.what}" for k, v in SCALES.items()),
    )
    p.add_argument("--providers", type=int, help="number of providers (overrides --scale)")
    p.add_argument("--people", type=int, help="number of people (overrides --scale)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path, help="folder (default: data/demo/)")
    p.set_defaults(func=cmd_make_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return EXIT_INPUT
        return int(args.func(args))
    except InputError as exc:
        _note(f"gapmap: {exc.describe()}")
        return EXIT_INPUT
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        _note(
            "gapmap: interrupted; outputs already written are complete, the rest were not written"
        )
        return EXIT_ERROR
    except Exception as exc:  # anything else is our bug or the machine's problem, not the user's
        if debug:
            raise
        _note(
            f"gapmap: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)"
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
