"""The providers register in the directory's language: Open Referral UK (ORUK) v3.0 in and out.

Councils publish their community-services directories as ORUK feeds (``/services`` pages of
services with their details). :func:`export_feed` writes a providers register as such a feed,
and :func:`read_feed` reads one back as the register's columns, so ``--providers`` takes a feed
saved as JSON (a page, one service, or a folder of pages).

What ORUK holds maps to the register like this (README, "Open Referral UK"):

==========================  ===============================================================
register                    ORUK v3.0 service
==========================  ===============================================================
``provider_id``             ``organization.organization_identifiers`` (type
                            ``gapmap provider_id``); else the service ``id``
``name``                    ``name``
``postcode``, ``lat/lon``   ``service_at_locations[].location``: ``latitude``,
                            ``longitude``, ``addresses[].postal_code``
``services``                ``attributes[].taxonomy_term`` (the gapmap taxonomy, or the
                            words of :data:`TERM_WORDS`)
``days``                    ``schedules[].byday`` (RFC 5545: ``MO,TU``)
``max_travel_km``           ``service_areas[]`` (``Homes within 10 km of ...``; a GeoJSON
                            circle in ``extent``)
``phone``                   ``contacts[].phones[].number`` (HSDS 3.0)
``email``, ``website``      ``email``, ``url``
``price_per_hour``          ``cost_options[]`` whose ``amount_description`` says an hour
``verified_on``             ``assured_date``
``last_updated``            ``last_modified``
``languages``               ``languages[].name`` (HSDS 3.0)
==========================  ===============================================================

What ORUK has no place for (``capacity_hours``, ``committed_hours``, ``cover``,
``cqc_registered``, ``dbs_checked_on``, ``insurance_until``, and ``max_travel_km`` when the
feed's areas do not say it) comes from a side table joined by the service id
(``--directory-extra``), or from the defaults of :data:`DEFAULTS`. No person's data is ever in
a feed: it is made from the providers register alone.

The JSON Schema of :func:`schema` is written from the published ORUK v3.0 field definitions
(its ``$comment`` names the source and licence).

The package, by idea: :mod:`~gapmap.io.oruk.standard` (the schema, taxonomy and defaults),
:mod:`~gapmap.io.oruk.write` (a register written as a feed) and :mod:`~gapmap.io.oruk.read`
(a feed read as a register).
"""

from gapmap.io.oruk.read import is_feed, read_feed
from gapmap.io.oruk.standard import (
    DEFAULTS,
    EXTRA_COLUMNS,
    TAXONOMY,
    TERM_WORDS,
    VERSION,
    schema,
    validate,
)
from gapmap.io.oruk.write import export_feed, extra_table, provider_service, taxonomy

__all__ = [
    "DEFAULTS",
    "EXTRA_COLUMNS",
    "TAXONOMY",
    "TERM_WORDS",
    "VERSION",
    "export_feed",
    "extra_table",
    "is_feed",
    "provider_service",
    "read_feed",
    "schema",
    "taxonomy",
    "validate",
]
