"""pipseal.http: redaction and redirect rules (pure), then a real session against 127.0.0.1."""

from __future__ import annotations

import hashlib
import socket
import time
from email.utils import formatdate
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from urllib3.exceptions import LocationParseError
from urllib3.util.url import parse_url

from pipseal.errors import NetworkError, PipsealError
from pipseal.http.origins import host_matches, is_secure_origin, redirect_allowed
from pipseal.http.retry import RETRY_AFTER_CAP, retry_after_seconds
from pipseal.http.session import _PLAIN_URL, HttpOptions, Session
from pipseal.redaction import Url, redact, strip_userinfo
from tests.support.indexserver import IndexServer
from tests.support.wheels import build_wheel

# No environment leaks in: no proxies, no $NETRC, no ~/.netrc of the machine running the tests.
QUIET = HttpOptions(environ={}, netrc=False, backoff_factor=0.01, retries=2, timeout=5.0)


def options(**changes: object) -> HttpOptions:
    from dataclasses import replace

    return replace(QUIET, **changes)  # type: ignore[arg-type]


def with_userinfo(url: str, userinfo: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{userinfo}@{rest}"


# -- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@host/simple/", "https://user:****@host/simple/"),
        ("https://tok3n@host:8443/simple/", "https://****@host:8443/simple/"),
        ("https://user:@host/x", "https://user:****@host/x"),
        ("https://user:p%40ss@host/x?q=1#frag", "https://user:****@host/x?q=1#frag"),
        ("https://host/simple/", "https://host/simple/"),
        ("file:///tmp/wheels", "file:///tmp/wheels"),
        ("/local/path", "/local/path"),
    ],
)
def test_redact(url: str, expected: str) -> None:
    assert redact(url) == expected


def test_a_url_value_prints_redacted_however_it_is_printed() -> None:
    url = Url("https://user:secret@host/simple/x.whl")
    shown = "https://user:****@host/simple/x.whl"
    assert str(url) == f"{url}" == shown
    assert f"{url:>40}" == f"{shown:>40}"
    assert "secret" not in repr(url)
    assert "secret" not in repr([url])
    assert "secret" not in str(PipsealError(f"Could not fetch {url}"))
    assert url.full == "https://user:secret@host/simple/x.whl"  # what a request uses
    assert url.stored == "https://host/simple/x.whl"  # what is written to disk


def test_strip_userinfo() -> None:
    assert strip_userinfo("https://u:p@h:1/x#y") == "https://h:1/x#y"
    assert strip_userinfo("https://h/x") == "https://h/x"


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("https://a/x", "https://b/y", True),
        ("http://a/x", "https://a/x", True),
        ("http://a/x", "http://b/x", True),
        ("https://a/x", "http://a/x", False),
        ("HTTPS://a/x", "http://a/x", False),
        ("https://a/x", "file:///etc/passwd", False),
        ("http://a/x", "ftp://a/x", False),
    ],
)
def test_redirect_allowed(source: str, target: str, allowed: bool) -> None:
    assert redirect_allowed(source, target) is allowed


def test_host_matches_and_secure_origin() -> None:
    assert host_matches("https://pkgs.corp:8443/simple/", ("pkgs.corp",))
    assert host_matches("https://pkgs.corp:8443/simple/", ("pkgs.corp:8443",))
    assert not host_matches("https://pkgs.corp:8443/simple/", ("pkgs.corp:9000",))
    assert not host_matches("https://other/simple/", ("pkgs.corp",))
    assert is_secure_origin("https://anything/simple/")
    assert is_secure_origin("file:///srv/simple/")
    assert is_secure_origin("http://127.0.0.1:8080/simple/")
    assert is_secure_origin("http://localhost/simple/")
    assert is_secure_origin("http://[::1]:8080/simple/")
    assert not is_secure_origin("http://pkgs.corp/simple/")
    assert is_secure_origin("http://pkgs.corp/simple/", ("pkgs.corp",))


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("100000") == RETRY_AFTER_CAP
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    now = 1_700_000_000.0
    assert retry_after_seconds(formatdate(now + 5, usegmt=True), now=now) == pytest.approx(5.0)
    assert retry_after_seconds(formatdate(now - 5, usegmt=True), now=now) == 0.0


def test_proxy_choice_from_the_given_environment() -> None:
    environ = {
        "HTTP_PROXY": "http://upper:3128",
        "http_proxy": "http://lower:3128",
        "HTTPS_PROXY": "http://secure:3128",
        "NO_PROXY": "internal.corp,.example.com,10.0.0.0/8",
    }
    session = Session(HttpOptions(environ=environ))
    assert session.proxy_for("http://pypi.invalid/simple/") == "http://lower:3128"
    assert session.proxy_for("https://pypi.invalid/simple/") == "http://secure:3128"
    assert session.proxy_for("https://internal.corp/simple/") is None
    assert session.proxy_for("https://a.example.com/simple/") is None
    assert session.proxy_for("http://10.1.2.3/simple/") is None
    assert Session(HttpOptions(environ={})).proxy_for("https://pypi.invalid/") is None
    explicit = Session(HttpOptions(environ={}, proxy="http://explicit:8080"))
    assert explicit.proxy_for("https://pypi.invalid/") == "http://explicit:8080"


def test_bad_certificate_file_is_a_network_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bundle.pem"
    with pytest.raises(NetworkError, match=r"no-such-bundle\.pem") as info:
        Session(HttpOptions(environ={}, cert=str(missing)))
    assert "\n" not in info.value.message
    # A file that is not a bundle is loaded (and refused) when TLS is first needed: a
    # plain-http index never pays for reading the CA store.
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    session = Session(HttpOptions(environ={}, cert=str(garbage)))
    with pytest.raises(NetworkError, match=r"garbage\.pem"):
        session.get("https://127.0.0.1:9/simple/")


# -- a real server ----------------------------------------------------------------------------


@pytest.fixture
def wheel_url(index_server: IndexServer, wheel_dir: Path) -> str:
    return index_server.add(build_wheel(wheel_dir, "foo", "1.0"))


def statuses(server: IndexServer, pattern: str) -> list[int]:
    return [r.status for r in server.requests_for(pattern)]


def test_streamed_download_is_the_exact_bytes(
    index_server: IndexServer, wheel_dir: Path, wheel_url: str
) -> None:
    expected = (wheel_dir / "foo-1.0-py3-none-any.whl").read_bytes()
    with Session(QUIET) as session, session.get(wheel_url) as response:
        assert response.status == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content_length == len(expected)
        body = b"".join(response.iter_bytes(chunk_size=100))
    assert hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()
    (record,) = index_server.requests_for("/files/*")
    assert record.headers["Accept-Encoding"] == "identity"
    assert record.headers["User-Agent"].startswith("pipseal/")


def test_503_with_retry_after_is_retried_after_waiting(
    index_server: IndexServer, wheel_url: str
) -> None:
    index_server.fault("/files/*", "status", status=503, retry_after=1)
    started = time.monotonic()
    with Session(QUIET) as session:
        response = session.get(wheel_url, stream=False)
    elapsed = time.monotonic() - started
    assert response.status == 200
    assert statuses(index_server, "/files/*") == [503, 200]
    # backoff_factor is 0.01 s: only Retry-After explains a wait of a second.
    assert elapsed >= 0.9


def test_429_is_retried(index_server: IndexServer, wheel_url: str) -> None:
    index_server.fault("/files/*", "status", status=429)
    with Session(QUIET) as session:
        assert session.get(wheel_url, stream=False).status == 200
    assert statuses(index_server, "/files/*") == [429, 200]


def test_connection_reset_is_retried(index_server: IndexServer, wheel_url: str) -> None:
    index_server.fault("/files/*", "reset")
    with Session(QUIET) as session:
        assert session.get(wheel_url, stream=False).status == 200
    assert statuses(index_server, "/files/*") == [0, 200]


def test_truncated_page_is_retried_when_not_streaming(
    index_server: IndexServer, wheel_dir: Path, wheel_url: str
) -> None:
    index_server.fault("/files/*", "truncate")
    with Session(QUIET) as session:
        body = session.get(wheel_url, stream=False).read()
    assert body == (wheel_dir / "foo-1.0-py3-none-any.whl").read_bytes()
    assert len(index_server.requests_for("/files/*")) == 2


def test_truncated_stream_raises_network_error(index_server: IndexServer, wheel_url: str) -> None:
    index_server.fault("/files/*", "truncate")
    with (
        Session(QUIET) as session,
        session.get(wheel_url) as response,
        pytest.raises(NetworkError, match="connection broken"),
    ):
        response.read()


def test_out_of_retries_names_the_redacted_url(index_server: IndexServer, wheel_url: str) -> None:
    index_server.fault("/files/*", "status", status=503, times=10)
    url = with_userinfo(wheel_url, "alice:hunter2")
    with Session(QUIET) as session, pytest.raises(NetworkError) as info:
        session.get(url)
    message = str(info.value)
    assert "hunter2" not in message
    assert "alice:****@127.0.0.1" in message
    assert "HTTP 503" in message
    assert "(after 2 retries)" in message
    assert "\n" not in message
    assert len(index_server.requests_for("/files/*")) == 3


def test_404_is_returned_not_retried(index_server: IndexServer) -> None:
    with Session(QUIET) as session:
        response = session.get(index_server.file_url("missing-1.0.tar.gz"))
        response.close()
    assert response.status == 404
    assert statuses(index_server, "/files/*") == [404]


def test_unreachable_host_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Session(options(retries=1)) as session, pytest.raises(NetworkError) as info:
        session.get(f"http://u:pw@127.0.0.1:{port}/simple/")
    assert "could not connect" in str(info.value)
    assert "(after 1 retry)" in str(info.value)
    assert ":pw@" not in str(info.value)


def test_stall_times_out_within_bounds(index_server: IndexServer, wheel_url: str) -> None:
    index_server.fault("/files/*", "stall", seconds=3.0, times=2)
    started = time.monotonic()
    with (
        Session(options(timeout=0.5, retries=1)) as session,
        pytest.raises(NetworkError, match="timed out"),
    ):
        session.get(wheel_url, stream=False)
    assert time.monotonic() - started < 2.5


def test_redirects_are_followed(index_server: IndexServer, wheel_url: str) -> None:
    index_server.fault("/old/*", "redirect", location="/files/foo-1.0-py3-none-any.whl")
    with Session(QUIET) as session:
        response = session.get(index_server.base + "/old/foo.whl", stream=False)
    assert response.status == 200
    assert response.url == wheel_url


def test_redirect_loop_is_a_network_error(index_server: IndexServer) -> None:
    index_server.fault("/loop", "redirect", times=50)
    with Session(QUIET) as session, pytest.raises(NetworkError, match="more than 10 redirects"):
        session.get(index_server.base + "/loop")


def test_credentials_from_url_userinfo(index_server: IndexServer, wheel_url: str) -> None:
    index_server.require_auth = ("alice", "s3cret")
    with Session(QUIET) as session:
        assert session.get(wheel_url, stream=False).status == 401
        assert session.get(with_userinfo(wheel_url, "alice:s3cret"), stream=False).status == 200
        # Remembered for the host, as pip does: links on an index page carry no userinfo.
        assert session.get(wheel_url, stream=False).status == 200
    assert statuses(index_server, "/files/*") == [401, 200, 200]


def test_credentials_from_netrc(index_server: IndexServer, wheel_url: str, tmp_path: Path) -> None:
    index_server.require_auth = ("alice", "s3cret")
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1\n  login alice\n  password s3cret\n")
    netrc_file.chmod(0o600)
    with Session(options(netrc=True, netrc_path=str(netrc_file))) as session:
        assert session.get(wheel_url, stream=False).status == 200
    with Session(options(netrc=False, netrc_path=str(netrc_file))) as session:
        assert session.get(wheel_url, stream=False).status == 401
    # $NETRC from the environment the session is given.
    with Session(options(netrc=True, environ={"NETRC": str(netrc_file)})) as session:
        assert session.get(wheel_url, stream=False).status == 200


def test_requests_go_through_the_configured_proxy(
    index_server: IndexServer, wheel_dir: Path
) -> None:
    index_server.add(build_wheel(wheel_dir, "foo", "1.0"))
    # The index server routes on the path, so it can play the proxy: a proxied request carries
    # the absolute URL of a host that does not exist.
    proxied = options(environ={"http_proxy": index_server.base})
    with Session(proxied) as session:
        response = session.get("http://pypi.invalid/files/foo-1.0-py3-none-any.whl", stream=False)
    assert response.status == 200
    (record,) = index_server.requests_for("/files/*")
    assert record.path == "http://pypi.invalid/files/foo-1.0-py3-none-any.whl"


def test_file_urls(tmp_path: Path) -> None:
    (tmp_path / "simple" / "foo").mkdir(parents=True)
    (tmp_path / "simple" / "foo" / "index.html").write_bytes(b"<html></html>")
    (tmp_path / "empty").mkdir()
    archive = tmp_path / "foo-1.0.tar.gz"
    archive.write_bytes(b"x" * 3000)
    with Session(QUIET) as session:
        page = session.get((tmp_path / "simple" / "foo").as_uri() + "/", stream=False)
        assert (page.status, page.read()) == (200, b"<html></html>")
        assert page.headers["Content-Type"] == "text/html"
        with session.get(archive.as_uri()) as streamed:
            assert streamed.content_length == 3000
            assert b"".join(streamed.iter_bytes(chunk_size=1024)) == b"x" * 3000
        assert session.get((tmp_path / "empty").as_uri()).status == 404
        assert session.get((tmp_path / "nothing.whl").as_uri()).status == 404


def test_a_page_larger_than_allowed_is_refused(index_server: IndexServer, wheel_dir: Path) -> None:
    for version in ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5"):
        index_server.add(build_wheel(wheel_dir, "bulky", version))
    page = index_server.url + "bulky/"
    small = Session(HttpOptions(environ={}, retries=0, max_page_bytes=500))
    with pytest.raises(NetworkError, match=r"(larger than the 500 bytes|more than the 500)"):
        small.get(page, stream=False)
    roomy = Session(HttpOptions(environ={}, retries=0))
    assert b"bulky-1.5" in roomy.get(page, stream=False).read()


# -- requests that skip the pool manager ---------------------------------------------------------

_URL_PIECES = st.lists(
    st.sampled_from(
        ["a", "Z", "9", "-", ".", "_", "~", "/", "?", "=", "&", "+", "%", "%2b", "%2B", "#",
         " ", "@", ":", ";", "[", "]", "é", "..", "./", "/.", "\\", "^", "|", '"', "'", "!"]
    ),
    max_size=12,
).map("".join)  # fmt: skip


@settings(max_examples=400)
@example("http://", "h", "", "/", "a%2bb")  # parse_url upper-cases an escape
@example("http://", "h", "", "/", "a%zz")  # and escapes a lone percent sign
@example("http://", "h", "", "/", "a b")
@example("http://", "h", "", "/", "a/../b")
@given(
    st.sampled_from(["http://", "https://", "http://", "https://", "HTTP://", "http://user@"]),
    st.sampled_from(["127.0.0.1", "Files.Example.org", "h", "h", "[::1]", ""]),
    st.sampled_from(["", ":8080", "", ":", ":0x"]),
    st.sampled_from(["/", "/", "/", ""]),
    _URL_PIECES,
)
def test_a_plain_url_is_sent_as_urllib3_would_send_it(
    scheme: str, host: str, port: str, slash: str, rest: str
) -> None:
    """What the session sends to a pool itself is what ``PoolManager.urlopen`` would send: the
    same origin's pool, the same request target."""
    url = scheme + host + port + slash + rest
    plain = _PLAIN_URL.fullmatch(url)
    if plain is None or "/." in (plain.group(2) or ""):
        return  # left to the manager
    origin, path = plain.group(1), plain.group(2) or "/"
    try:
        whole = parse_url(url)
    except LocationParseError:  # a port out of range: refused by either way, alike
        with pytest.raises(LocationParseError):
            parse_url(origin)
        return
    alone = parse_url(origin)
    assert (whole.scheme, whole.host, whole.port) == (alone.scheme, alone.host, alone.port)
    assert whole.request_uri == path


def test_requests_reach_the_server_as_urllib3_writes_them(
    index_server: IndexServer, wheel_url: str
) -> None:
    """A plain URL goes to its origin's pool (kept for the next request); one urllib3 would
    rewrite (a dot segment, a lower-case escape) still goes through the manager, rewritten."""
    base = index_server.base
    with Session(QUIET) as session:
        assert session.get(wheel_url, stream=False).status == 200
        assert list(session._pools) == [base]
        assert session.get(f"{base}/files/./foo-1.0-py3-none-any.whl", stream=False).status == 200
        assert session.get(f"{base}/files/foo%2d1.0.whl", stream=False).status == 404
        assert session.get(wheel_url + "?x=1", stream=False).status == 200
    paths = [r.path for r in index_server.requests]
    assert paths == [
        "/files/foo-1.0-py3-none-any.whl",
        "/files/foo-1.0-py3-none-any.whl",
        "/files/foo%2D1.0.whl",
        "/files/foo-1.0-py3-none-any.whl?x=1",
    ]
