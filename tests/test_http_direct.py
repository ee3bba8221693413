"""Requests straight to the origin (``pipseal.http.direct``): kept-alive connections, a server
that closes them, compressed pages, https, and no urllib3 on that road."""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipseal.errors import NetworkError
from pipseal.http.direct import Pool
from pipseal.http.session import HttpOptions, Session
from tests.support.indexserver import IndexServer
from tests.support.wheels import build_wheel

QUIET = HttpOptions(environ={}, netrc=False, backoff_factor=0.01, retries=0, timeout=5.0)


@pytest.fixture
def page_url(index_server: IndexServer, wheel_dir: Path) -> str:
    for version in ("1.0", "1.1", "2.0"):
        index_server.add(build_wheel(wheel_dir, "foo", version))
    return index_server.project_url("foo")


def test_one_connection_serves_request_after_request(
    index_server: IndexServer, page_url: str
) -> None:
    with Session(QUIET) as session:
        for _ in range(5):
            assert session.get(page_url, stream=False).status == 200
            with session.get(index_server.file_url("foo-1.0-py3-none-any.whl")) as streamed:
                streamed.read()
    assert len(index_server.requests) == 10
    assert index_server.connections == 1


def test_an_unread_body_costs_its_connection_not_the_next_request(
    index_server: IndexServer, page_url: str
) -> None:
    with Session(QUIET) as session:
        session.get(index_server.file_url("foo-1.0-py3-none-any.whl")).close()  # left unread
        assert session.get(page_url, stream=False).status == 200
    assert index_server.connections == 2


def test_a_connection_the_server_closed_while_idle_is_not_a_failure(
    index_server: IndexServer, page_url: str
) -> None:
    with Session(QUIET) as session:  # no retries at all
        assert session.get(page_url, stream=False).status == 200
        index_server.hang_up()
        started = time.monotonic()
        assert session.get(page_url, stream=False).status == 200
        assert time.monotonic() - started < 1.0
    assert [r.status for r in index_server.requests] == [200, 200]
    assert index_server.connections == 2


def test_a_reused_connection_reset_under_the_request_is_sent_again_at_once(
    index_server: IndexServer, page_url: str
) -> None:
    """The server drops a kept-alive connection as the next request arrives (its keep-alive
    timeout): the request goes again on a new connection, without a retry's wait."""
    slow_retries = HttpOptions(environ={}, netrc=False, backoff_factor=30, retries=1, timeout=5.0)
    with Session(slow_retries) as session:
        assert session.get(page_url, stream=False).status == 200
        index_server.fault("/simple/foo/", "reset")
        started = time.monotonic()
        assert session.get(page_url, stream=False).status == 200
        assert time.monotonic() - started < 2.0  # a retry would wait 4 s (BACKOFF_CAP)
    assert [r.status for r in index_server.requests] == [200, 0, 200]


def test_a_fresh_connection_reset_is_a_failure_retried_as_such(
    index_server: IndexServer, page_url: str
) -> None:
    index_server.fault("/simple/foo/", "reset")
    with Session(QUIET) as session, pytest.raises(NetworkError, match=r"after 0 retries"):
        session.get(page_url, stream=False)


@pytest.mark.parametrize(
    "encoding", ["gzip", "deflate", "raw-deflate", "gzip-padded", "gzip-members"]
)
def test_a_compressed_page_is_read_decoded(
    index_server: IndexServer, page_url: str, encoding: str
) -> None:
    with Session(QUIET) as session:
        plain = session.get(page_url, stream=False).read()
        index_server.page_encoding = encoding
        packed = session.get(page_url, stream=False)
        assert packed.headers["content-encoding"] == encoding.removeprefix("raw-").split("-")[0]
        assert packed.read() == plain
    assert b"foo-2.0-py3-none-any.whl" in plain
    accepted = index_server.requests[-1].headers["Accept-Encoding"]
    assert "gzip" in accepted and "deflate" in accepted


def test_a_page_that_does_not_decode_is_a_network_error_retried(
    index_server: IndexServer, page_url: str
) -> None:
    index_server.page_encoding = "gzip-broken"
    retrying = HttpOptions(environ={}, netrc=False, backoff_factor=0.01, retries=1)
    with Session(retrying) as session, pytest.raises(NetworkError) as info:
        session.get(page_url, stream=False)
    assert "the body does not decode (gzip:" in str(info.value)
    assert "(after 1 retry)" in str(info.value)
    assert [r.status for r in index_server.requests] == [200, 200]


def test_a_compressed_page_is_held_to_the_size_limit_once_decoded(
    index_server: IndexServer, wheel_dir: Path
) -> None:
    for number in range(40):
        index_server.add(build_wheel(wheel_dir, "many", f"1.{number}"))
    index_server.page_encoding = "gzip"
    limited = HttpOptions(environ={}, netrc=False, retries=0, max_page_bytes=4000)
    # The compressed body is small enough; what it decodes to is not.
    with (
        Session(limited) as session,
        pytest.raises(NetworkError, match="larger than the 4000 bytes"),
    ):
        session.get(index_server.project_url("many"), stream=False)
    assert index_server.requests[-1].status == 200


def test_a_streamed_body_is_never_decoded(index_server: IndexServer, page_url: str) -> None:
    """An archive is hashed as sent: even a server that compresses what the client did not
    ask it to gets its bytes back as they came."""
    index_server.page_encoding = "gzip"
    index_server.compress_always = True
    with Session(QUIET) as session, session.get(page_url) as streamed:  # stream=True
        body = streamed.read()
    assert index_server.requests[-1].headers["Accept-Encoding"] == "identity"
    assert body.startswith(b"\x1f\x8b")
    assert b"foo-2.0-py3-none-any.whl" in gzip.decompress(body)


def test_an_idle_connection_the_server_closed_is_not_used_again() -> None:
    """``Pool`` looks at an idle connection before using it: one whose peer has gone is
    dropped, and a new connection is made (no request is sent on the dead one)."""
    pool = Pool("http", "127.0.0.1", 9, timeout=1.0, context=None, maxsize=4)
    ours, theirs = socket.socketpair()
    connection = http.client.HTTPConnection("127.0.0.1", 9)
    connection.sock = ours
    pool.give_back(connection)
    taken, reused = pool._take()
    assert (taken, reused) == (connection, True)  # the peer is still there
    pool.give_back(connection)
    theirs.close()
    taken, reused = pool._take()
    assert taken is not connection and not reused
    assert connection.sock is None  # closed


def test_a_pool_closed_keeps_no_connection_given_back_later() -> None:
    pool = Pool("http", "127.0.0.1", 9, timeout=1.0, context=None, maxsize=4)
    ours, theirs = socket.socketpair()
    connection = http.client.HTTPConnection("127.0.0.1", 9)
    connection.sock = ours
    pool.close()
    pool.give_back(connection)  # a request that ended after the session closed
    assert connection.sock is None
    theirs.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://a..b/simple/", "could not connect (not a valid host name)"),
        ("http://127.0.0.1:99999/simple/", "not a valid port"),
    ],
)
def test_a_url_no_connection_can_be_made_to_is_one_error_line(url: str, reason: str) -> None:
    with Session(QUIET) as session, pytest.raises(NetworkError) as info:
        session.get(url, stream=False)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_an_ipv6_literal_host(tmp_path: Path) -> None:
    """``http://[::1]:PORT/``: the brackets go, the port is the URL's (and the default port
    where it names none: an IPv6 address's last group is no port)."""
    with Session(QUIET) as session:
        route = session._route("http://[::1]")
        assert isinstance(route, Pool)
        assert (route._host, route._port) == ("::1", 80)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = b"ipv6 ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        server = Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Session(QUIET) as session:
            page = session.get(f"http://[::1]:{server.server_address[1]}/x", stream=False)
            assert page.read() == b"ipv6 ok"
    finally:
        server.shutdown()
        server.server_close()


def test_plain_requests_import_no_urllib3(index_server: IndexServer, page_url: str) -> None:
    script = (
        "import sys\n"
        "from pipseal.http.session import HttpOptions, Session\n"
        "session = Session(HttpOptions(environ={}, netrc=False))\n"
        f"assert session.get({page_url!r}, stream=False).status == 200\n"
        f"with session.get({index_server.file_url('foo-1.0-py3-none-any.whl')!r}) as r:\n"
        "    r.read()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'urllib3'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.replace("'", '"')) == []


# -- https --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a certificate with")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.fixture
def tls_server(certificate: tuple[str, str], wheel_dir: Path) -> Iterator[IndexServer]:
    with IndexServer(tls=certificate) as server:
        server.add(build_wheel(wheel_dir, "foo", "1.0"))
        yield server


def test_https_with_the_servers_certificate_as_ca_bundle(
    tls_server: IndexServer, certificate: tuple[str, str]
) -> None:
    assert tls_server.base.startswith("https://")
    with Session(HttpOptions(environ={}, netrc=False, retries=0, cert=certificate[0])) as session:
        for _ in range(3):
            page = session.get(tls_server.project_url("foo"), stream=False)
            assert page.status == 200
            assert b"foo-1.0-py3-none-any.whl" in page.read()
    assert tls_server.connections == 1


def test_https_with_an_unknown_certificate_fails_at_once(tls_server: IndexServer) -> None:
    patient = HttpOptions(environ={}, netrc=False, retries=3, backoff_factor=5.0)
    started = time.monotonic()
    with Session(patient) as session, pytest.raises(NetworkError) as info:
        session.get(tls_server.project_url("foo"), stream=False)
    assert "TLS certificate verification failed" in str(info.value)
    assert "retries" not in str(info.value)  # not worth a retry: none was made
    assert time.monotonic() - started < 5.0


def test_https_to_a_trusted_host_is_not_verified(tls_server: IndexServer) -> None:
    trusting = HttpOptions(environ={}, netrc=False, retries=0, trusted_hosts=("127.0.0.1",))
    with Session(trusting) as session:
        assert session.get(tls_server.project_url("foo"), stream=False).status == 200
