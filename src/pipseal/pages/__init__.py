"""Project pages in a compact form: read once, files grouped by version, decoded on demand.

A project page (PEP 503 HTML or PEP 691 JSON) is read into a :class:`CompactPage`: per version,
each file's raw fields as the page gives them (file name, link, digests, Requires-Python,
yanked, PEP 658 metadata, size). Nothing else is parsed then: a file's URL is joined, its wheel
tags parsed and its digests validated only when :meth:`CompactPage.decode` is asked for its
version (the resolver asks for a few versions of most projects; botocore's page lists 3,000
files). HTML is read with a regular expression over the anchors, not BeautifulSoup: index pages
are machine-written, and the parser cost more than the resolution on large pages.

The package, one idea a module: ``compact`` (the :class:`~pipseal.pages.compact.CompactPage`
value, decoded a version at a time), ``reading`` (HTML and JSON pages read into it) and
``stored`` (the form the cache keeps, checked when read).
"""

#: PEP 691's JSON page (what the finder asks for first, and the reader reads).
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
