"""``gapmap serve``: the signposting page and its JSON API (:mod:`gapmap.serve.app`), the
register's referrals and staff (:mod:`gapmap.serve.register`) and the "Provider off" page
(:mod:`gapmap.serve.cover`). The pages and their scripts are files in ``web/``.
"""

from gapmap.serve.app import create_app

__all__ = ["create_app"]
