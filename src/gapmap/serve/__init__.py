"""``gapmap serve``: the signposting page and its JSON API.

Its rooms: the register in service and the routes (:mod:`gapmap.serve.app`), who may use it
(:mod:`gapmap.serve.security`: the listening policy, the session guard, the security headers),
the page's questions and their errors (:mod:`gapmap.serve.forms`), the API's shapes
(:mod:`gapmap.serve.api`), the register's referrals and staff (:mod:`gapmap.serve.register`)
and the "Provider off" page (:mod:`gapmap.serve.cover`). The pages and their scripts are files
in ``web/``.
"""

from gapmap.serve.app import create_app

__all__ = ["create_app"]
