"""install/direct_url.py: PEP 610's direct_url.json, as pip 26.3 writes it."""

from __future__ import annotations

import json

import pytest

from pipseal.install.direct_url import direct_url_json, directory_url_json, vcs_url_json


def test_directories_plain_and_editable() -> None:
    assert directory_url_json("file:///src/proj") == b'{"dir_info": {}, "url": "file:///src/proj"}'
    assert json.loads(directory_url_json("file:///src/proj", editable=True)) == {
        "dir_info": {"editable": True},
        "url": "file:///src/proj",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "git+https://user:secret@g.example.org/r.git@v1.0#egg=r&subdirectory=pkg",
            {
                "url": "https://g.example.org/r.git",
                "subdirectory": "pkg",
                "vcs_info": {"commit_id": "c" * 40, "requested_revision": "v1.0", "vcs": "git"},
            },
        ),
        (
            "git+ssh://git@g.example.org/org/r.git",
            {"url": "ssh://git@g.example.org/org/r.git", "vcs_info": {"commit_id": "c" * 40,
                                                                      "vcs": "git"}},
        ),
        (
            "git+file:///srv/repos/r@main",
            {"url": "file:///srv/repos/r", "vcs_info": {"commit_id": "c" * 40,
                                                        "requested_revision": "main",
                                                        "vcs": "git"}},
        ),
    ],
)  # fmt: skip
def test_vcs_links_keep_the_revision_asked_for_and_drop_credentials(
    url: str, expected: dict[str, object]
) -> None:
    assert json.loads(vcs_url_json(url, "c" * 40)) == expected


def test_archives_unchanged() -> None:
    record = json.loads(direct_url_json("https://u:p@h.example.org/a-1.0.tar.gz#sha256=x", "ab"))
    assert record == {
        "archive_info": {"hash": "sha256=ab", "hashes": {"sha256": "ab"}},
        "url": "https://h.example.org/a-1.0.tar.gz",
    }
