"""gapmap: where adult social care need is not met by micro-providers in Kent, and who could help.

The public API (data flows one way: read -> locate -> reach -> analyse -> publish):

>>> import gapmap
>>> areas = gapmap.load_builtin_areas()            # doctest: +SKIP
>>> providers = gapmap.read_providers("providers.csv")  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gapmap")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0+unknown"

from .areas import place_points, read_areas
from .builtin import build_kent_sectors, load_builtin_areas
from .demo import make_demo_registers, write_demo_registers
from .errors import InputError, Problem
from .gaps import GapOptions, gap_analysis, publish_gaps
from .location import capacitated_coverage, max_coverage
from .matching import MatchOptions, match
from .postcodes import PostcodeDirectory, normalise_postcode
from .recruitment import RecruitOptions, recruit
from .registers import place_in_areas, read_people, read_providers

__all__ = [
    "GapOptions",
    "InputError",
    "MatchOptions",
    "RecruitOptions",
    "PostcodeDirectory",
    "Problem",
    "__version__",
    "build_kent_sectors",
    "capacitated_coverage",
    "gap_analysis",
    "load_builtin_areas",
    "make_demo_registers",
    "match",
    "max_coverage",
    "normalise_postcode",
    "place_in_areas",
    "place_points",
    "publish_gaps",
    "read_areas",
    "read_people",
    "read_providers",
    "recruit",
    "write_demo_registers",
]
