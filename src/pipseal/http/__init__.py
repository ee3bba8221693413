"""The one HTTP session: pooled connections, retries, timeouts, TLS, proxies, credentials.

Every byte pipseal fetches goes through :class:`Session.get`. Its contract:

- connection errors, timeouts, 5xx and 429 are retried with exponential backoff (``Retry-After``
  honoured, capped) up to ``HttpOptions.retries`` times, then become one
  :class:`~pipseal.errors.NetworkError` whose message names the (redacted) URL and the last reason;
- other 4xx responses are returned: the caller decides what they mean (404 = not on this index);
- redirects are followed (at most ``session.MAX_REDIRECTS``), never from https down to http;
- credentials come from the URL's userinfo or a netrc file and travel only in an ``Authorization``
  header, to the host they belong to; no message ever shows a password (a
  :class:`~pipseal.redaction.Url` is what a message names);
- ``file://`` URLs are served from the local file system with the same :class:`Response` type;
- a body (a streamed archive or a page) must keep coming: ``timeout`` bounds each read of the
  socket, and besides, every ``timeout`` seconds of a body must bring at least
  ``response.MIN_RATE`` bytes a second, else it fails as a timeout would (a server sending a byte a
  second never lets one read time out).

The package, one idea a module: ``origins`` (which URLs and redirects may be trusted, pure),
``retry`` (what a failure means and how long to wait before the next try), ``response`` (a
response and its rate-bounded body), ``direct`` (requests straight to an origin over
``http.client``: kept-alive connections, compressed pages) and ``session`` (the client: TLS,
proxies through urllib3, credentials, redirects, ``file://``).
"""
