"""The content-addressed cache: its buckets declared once (``buckets``), the store that reads
and writes them (``store``: verified reads, atomic writes, quarantine, the lock), and what
``cache list/remove/purge`` do over it (``manage``).

Light on purpose: ``buckets`` is imported at start-up, before the rest of the install.
"""

#: The store's layout version (``<root>/v1``) and the interpreters bucket's directory, declared
#: here in the package's light module and used by ``buckets``: the environment commands find a
#: remembered interpreter answer with them without importing the buckets' declaration
#: (pathlib, dataclasses and enum: about 30 ms of a 50 ms ``pipseal list``).
STORE_VERSION = "v1"
INTERPRETERS_DIR = "interpreters"
