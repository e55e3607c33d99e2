"""The register in a database (SPEC.md, "The register in a database").

The only package with SQL. :func:`open_store` opens (or makes) the register;
:class:`Store` imports registers with their history, builds a :class:`~gapmap.study.Study` at
any date, records referrals that hold hours, staff, absences, and backs it all up.

>>> store = open_store("register.db", create=True)                          # doctest: +SKIP
>>> store.import_registers(providers="providers.csv", people="people.csv",
...                        author="Ann")                                    # doctest: +SKIP
>>> study = store.study()           # free hours net of what referrals hold  # doctest: +SKIP
"""

from gapmap.store.engine import HEAD, StoreError
from gapmap.store.store import NoRoom, Store, open_store

__all__ = ["HEAD", "NoRoom", "Store", "StoreError", "open_store"]
