"""The register in a database (SPEC.md, "The register in a database").

The only package with SQL. :func:`open_store` opens (or makes) the register;
:class:`Store` imports registers with their history, builds a :class:`~gapmap.study.Study` at
any date, records referrals that hold hours, staff, absences, and backs it all up.

>>> import tempfile
>>> from pathlib import Path
>>> from gapmap.demo import demo_paths
>>> providers_csv, people_csv = demo_paths()                 # the demo's registers
>>> store = open_store(Path(tempfile.mkdtemp()) / "register.db", create=True)
>>> _ = store.import_registers(providers=providers_csv, people=people_csv, author="Ann")
>>> study = store.study()           # free hours net of what referrals hold
>>> len(study.providers), len(study.people)
(416, 2500)
"""

from gapmap.store.engine import HEAD, StoreError
from gapmap.store.store import NoRoom, Store, open_store

__all__ = ["HEAD", "NoRoom", "Store", "StoreError", "open_store"]
