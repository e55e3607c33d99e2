"""gapmap: where adult social care need is not met by micro-providers, and who could help.

The public API. Data flows one way: read → place → reach → analyse → publish. The demo study
(:func:`gapmap.datasets.demo_study`: Kent, synthetic registers, offline) runs every example:

>>> import gapmap
>>> study = gapmap.datasets.demo_study(match_time_limit_s=3)
>>> gaps = gapmap.gap_analysis(study)
>>> published = gapmap.publish_gaps(gaps.table, study.settings.suppression)
>>> sorted(set(published["people"]) & {"*"}), len(published)
(['*'], 259)
>>> matching = gapmap.match(study)
>>> matching.objective >= matching.greedy.objective
True
>>> gapmap.suggest(study, postcode="TN23 1PL", hours=4, days="weekdays", services="social",
...                self_directing=True, regulated_care=False).status
'ok'

Your own registers: ``gapmap.Study.read(gapmap.StudyInputs(providers="providers.csv",
people="people.csv"), settings=gapmap.Settings(circuity=1.3))``. Recruitment:
``gapmap.recruit(gaps, [60, 223, 416])``. A map in a notebook: ``gaps.explore()``,
``matching.explore()``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gapmap")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

from gapmap import datasets
from gapmap.demo import make_demo_registers, write_demo_registers
from gapmap.errors import GapmapError, InputError, Problem
from gapmap.gaps import GapResult, gap_analysis
from gapmap.io.areas import place_points, read_areas
from gapmap.io.builtin import build_kent_sectors, load_builtin_areas
from gapmap.io.placing import place_in_areas
from gapmap.io.registers import read_people, read_providers
from gapmap.matching import Matching, MatchingError, MatchResult, match
from gapmap.matching.person import person_request, request_from_fields
from gapmap.matching.request import suggest
from gapmap.matching.suggest import Suggester
from gapmap.postcodes import PostcodeDirectory, normalise_postcode
from gapmap.publish import (
    Published,
    Suppression,
    publish_gaps,
    publish_ranking,
    publish_scenarios,
    publish_sites,
)
from gapmap.reach import Reach
from gapmap.recruitment.location import capacitated_coverage, max_coverage
from gapmap.recruitment.targeting import RecruitResult, recruit
from gapmap.settings import Settings
from gapmap.study import AreaColumns, Study, StudyInputs

__all__ = [
    "AreaColumns",
    "GapResult",
    "GapmapError",
    "InputError",
    "MatchingError",
    "MatchResult",
    "Matching",
    "PostcodeDirectory",
    "Problem",
    "Published",
    "Reach",
    "RecruitResult",
    "Settings",
    "Study",
    "StudyInputs",
    "Suggester",
    "Suppression",
    "__version__",
    "build_kent_sectors",
    "capacitated_coverage",
    "datasets",
    "gap_analysis",
    "load_builtin_areas",
    "make_demo_registers",
    "match",
    "max_coverage",
    "normalise_postcode",
    "person_request",
    "place_in_areas",
    "place_points",
    "publish_gaps",
    "publish_ranking",
    "publish_scenarios",
    "publish_sites",
    "read_areas",
    "read_people",
    "read_providers",
    "recruit",
    "request_from_fields",
    "suggest",
    "write_demo_registers",
]
