"""Publishing: everything that turns exact results into what people see and share.

Small-number suppression and rounding (:mod:`.disclosure`), the published tables
(:mod:`.tables`), one run's tables made once for every writer (:mod:`.published`), the
terminal summaries (:mod:`.summaries`), the safe writers (:mod:`.export`), the maps
(:mod:`.maps`) and the folder of outputs (:mod:`.outputs`). This package is the only place
gapmap turns British National Grid into WGS84 (:mod:`.geo`).
"""

from gapmap.publish.disclosure import Suppression, published_count, round_to, suppress
from gapmap.publish.published import Published, PublishedRecruitment
from gapmap.publish.tables import (
    match_summary,
    publish_gaps,
    publish_ranking,
    publish_scenarios,
    publish_sites,
)

__all__ = [
    "Published",
    "PublishedRecruitment",
    "Suppression",
    "match_summary",
    "publish_gaps",
    "publish_ranking",
    "publish_scenarios",
    "publish_sites",
    "published_count",
    "round_to",
    "suppress",
]
