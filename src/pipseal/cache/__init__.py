"""The content-addressed cache: its buckets declared once (``buckets``), the store that reads
and writes them (``store``: verified reads, atomic writes, quarantine, the lock), and what
``cache list/remove/purge`` do over it (``manage``).

Light on purpose: ``buckets`` is imported at start-up, before the rest of the install.
"""
