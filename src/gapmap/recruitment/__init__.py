"""Recruitment: where new micro-providers would close the most unmet need.

:mod:`gapmap.recruitment.targeting` ranks areas and runs the recruitment scenarios;
:mod:`gapmap.recruitment.location` chooses sites (maximal-coverage location, plain and capacitated).
"""

from gapmap.recruitment.targeting import RecruitResult, recruit

__all__ = ["RecruitResult", "recruit"]
