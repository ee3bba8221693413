"""pipseal.diagnose: each fixed identifier from the evidence around a mismatch."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pipseal.diagnose import Diagnosis, Evidence, PublishedFile, diagnose
from pipseal.hashes import Hash, Hashes

PROJECT = "demo"
THIS = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
WINDOWS = "demo-1.0-cp311-cp311-win_amd64.whl"
SDIST = "demo-1.0.tar.gz"
OLD = "demo-0.9-py3-none-any.whl"


def digest(name: str, salt: str = "") -> str:
    """A distinct, real sha256 per file (of a made-up content)."""
    return hashlib.sha256(f"content of {name}{salt}".encode()).hexdigest()


def sha(value: str) -> Hashes:
    return Hashes.of([Hash("sha256", value)])


def release(version_of_this: str = "1.0") -> list[PublishedFile]:
    return [
        PublishedFile(THIS, version_of_this, sha(digest(THIS))),
        PublishedFile(WINDOWS, version_of_this, sha(digest(WINDOWS))),
        PublishedFile(SDIST, version_of_this, sha(digest(SDIST))),
        PublishedFile(OLD, "0.9", sha(digest(OLD))),
    ]


def evidence(
    pinned: Hashes,
    *,
    got: str | None = None,
    published: str | None = None,
    previously_served: tuple[str, ...] = (),
    files: list[PublishedFile] | None = None,
    version: str = "1.0",
) -> Evidence:
    """The fetched file is THIS; by default the bytes are what the index publishes for it."""
    return Evidence(
        project=PROJECT,
        version=version,
        filename=THIS,
        pinned=pinned,
        got={"sha256": got or digest(THIS)},
        published=sha(published or digest(THIS)),
        release_files=release() if files is None else files,
        previously_served=previously_served,
    )


# Split at the first " — ": the explanation holds none (the advice may).
LINE = re.compile(r"^cause \[(?P<id>[a-z-]+)\]: (?P<explanation>.+?) — (?P<advice>.+)$")


def check_line(d: Diagnosis) -> None:
    match = LINE.match(d.line())
    assert match is not None, d.line()
    assert match["id"] == d.identifier
    assert match["explanation"] == d.explanation
    assert match["advice"] == d.advice
    assert "\n" not in d.line()


def test_line_format() -> None:
    d = Diagnosis("unknown-digest", "what was seen", "what to do")
    assert d.line() == "cause [unknown-digest]: what was seen — what to do"


# -- transfer-damaged ----------------------------------------------------------------------------


def test_transfer_damaged_when_bytes_disagree_with_the_index() -> None:
    damaged = digest(THIS, " damaged in transit")
    d = diagnose(evidence(sha(digest(THIS)), got=damaged))
    assert d.identifier == "transfer-damaged"
    assert THIS in d.explanation
    check_line(d)


def test_transfer_damaged_comes_before_any_other_cause() -> None:
    # The pin names the sdist, but the bytes are not even what the index publishes.
    d = diagnose(evidence(sha(digest(SDIST)), got=digest(THIS, " cut short")))
    assert d.identifier == "transfer-damaged"


def test_nothing_published_is_not_transfer_damage() -> None:
    e = Evidence(
        PROJECT,
        "1.0",
        THIS,
        sha(digest(SDIST)),
        {"sha256": digest(THIS)},
        Hashes(),
        release_files=release(),
    )
    assert diagnose(e).identifier == "other-file-of-release"


# -- other-file-of-release ------------------------------------------------------------------------


def test_pin_of_the_sdist() -> None:
    d = diagnose(evidence(sha(digest(SDIST))))
    assert d.identifier == "other-file-of-release"
    assert SDIST in d.explanation
    assert "sdist" in d.explanation
    assert THIS in d.explanation  # the file this target uses
    assert "every platform" in d.advice
    check_line(d)


def test_pin_of_another_platforms_wheel() -> None:
    d = diagnose(evidence(sha(digest(WINDOWS))))
    assert d.identifier == "other-file-of-release"
    assert WINDOWS in d.explanation
    assert "cp311-cp311-win_amd64" in d.explanation
    assert SDIST not in d.explanation


def test_one_of_several_pins_names_another_file() -> None:
    pinned = Hashes.of([Hash("sha256", digest("nothing")), Hash("sha256", digest(WINDOWS))])
    d = diagnose(evidence(pinned))
    assert d.identifier == "other-file-of-release"
    assert WINDOWS in d.explanation


def test_pin_with_another_algorithm_of_another_file() -> None:
    sha512 = hashlib.sha512(b"windows wheel").hexdigest()
    files = [*release(), PublishedFile(WINDOWS, "1.0", Hashes.of([Hash("sha512", sha512)]))]
    d = diagnose(evidence(Hashes.of([Hash("sha512", sha512)]), files=files))
    assert d.identifier == "other-file-of-release"
    assert WINDOWS in d.explanation


def test_release_versions_compared_as_versions() -> None:
    d = diagnose(evidence(sha(digest(SDIST)), version="1.0.0"))
    assert d.identifier == "other-file-of-release"


# -- index-changed --------------------------------------------------------------------------------


def test_index_changed_when_the_pin_was_served_before() -> None:
    old_bytes = digest(THIS, " as first uploaded")
    new_bytes = digest(THIS)  # what the index publishes and serves now
    d = diagnose(evidence(sha(old_bytes), previously_served=(old_bytes,)))
    assert d.identifier == "index-changed"
    assert THIS in d.explanation
    assert new_bytes in d.advice  # the line that would match now, shown, never adopted
    assert "never adopts" in d.advice
    check_line(d)


def test_previously_served_other_digest_is_not_index_changed() -> None:
    d = diagnose(evidence(sha(digest("x")), previously_served=(digest("y"),)))
    assert d.identifier == "unknown-digest"


# -- unknown-digest -------------------------------------------------------------------------------


def test_unknown_digest_lists_the_release() -> None:
    d = diagnose(evidence(sha(digest("a typo"))))
    assert d.identifier == "unknown-digest"
    assert PROJECT in d.explanation
    listed = d.explanation.split("publishes: ", 1)[1]
    assert listed == ", ".join(sorted([THIS, WINDOWS, SDIST]))
    assert OLD not in d.explanation  # another release's file is not listed
    check_line(d)


def test_unknown_digest_with_no_files() -> None:
    d = diagnose(evidence(sha(digest("a typo")), files=[]))
    assert d.identifier == "unknown-digest"
    assert d.explanation.endswith("no files")


def test_pin_of_another_releases_file() -> None:
    d = diagnose(evidence(sha(digest(OLD))))
    assert d.identifier == "unknown-digest"
    assert OLD in d.explanation
    assert "another release" in d.explanation
    check_line(d)


# -- index-digest-wrong, hash-constraint-conflict ----------------------------------------------


def test_index_digest_wrong_names_the_digest_and_says_no_retry() -> None:
    from pipseal.diagnose import index_digest_wrong

    same = index_digest_wrong("a-1.0-py3-none-any.whl", "sha256:00", 928, malformed=False)
    assert same.identifier == "index-digest-wrong"
    assert "two downloads" in same.explanation and "sha256:00" in same.explanation
    bad = index_digest_wrong("a-1.0-py3-none-any.whl", "sha256=abc", 928, malformed=True)
    assert bad.line().startswith("cause [index-digest-wrong]: the index publishes sha256=abc")


def test_hash_constraint_conflict_names_both() -> None:
    from pipseal.diagnose import hash_constraint_conflict

    d = hash_constraint_conflict("a==1.0", "a==1.0 (from -c c.txt (line 2))")
    assert d.identifier == "hash-constraint-conflict"
    assert "a==1.0 (from -c c.txt (line 2))" in d.explanation


# -- one engine: the same evidence gives the same line on every command's path -----------------


def doctor_verdict(pinned: Hashes, usable: list[str]) -> str:
    """The line ``doctor`` prints first for a pin of demo 1.0, this target able to install
    the files named ``usable``."""
    from pipseal.diagnose.release import verdict

    files = release()
    this_release = [f for f in files if f.version == "1.0"]
    found = verdict(
        label=f"{PROJECT} 1.0",
        version="1.0",
        pins=pinned,
        files=files,
        release=this_release,
        usable=[f for f in this_release if f.filename in usable],
        target="cp311-cp311-manylinux_2_17_x86_64",
        rejections="",
        served_before={},
    )
    assert found.findings
    return found.findings[0].diagnosis.line()


def test_install_and_doctor_say_other_file_of_release_in_one_line() -> None:
    pinned = sha(digest(SDIST))
    at_install = diagnose(evidence(pinned)).line()
    assert at_install.startswith("cause [other-file-of-release]")
    assert doctor_verdict(pinned, [THIS]) == at_install


def test_install_and_doctor_say_a_pin_of_another_release_in_one_line() -> None:
    pinned = sha(digest(OLD))
    at_install = diagnose(evidence(pinned)).line()
    assert at_install.startswith("cause [unknown-digest]: the pin is the digest of " + OLD)
    assert doctor_verdict(pinned, [THIS]) == at_install


def test_hash_from_index_diagnoses_a_stale_pin_with_installs_rules() -> None:
    # ``hash --from-index`` feeds the evidence it has (a pin no file publishes now, nothing
    # fetched) to the same function install uses.
    pinned = sha(digest(THIS, "stale"))
    at_rehash = diagnose(Evidence(PROJECT, "1.0", "", pinned, {}, Hashes(), release())).line()
    assert at_rehash.startswith("cause [unknown-digest]: no configured index publishes")


def _identifier_texts(path: str) -> list[tuple[int, str]]:
    """Every ``Diagnosis(...)`` made and every string (not a docstring) holding ``cause [`` or
    the ``cache [cache-damaged]`` warning in one source file: (line, what)."""
    import ast

    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Diagnosis":
            found.append((node.lineno, "Diagnosis(...)"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ("cause [" in node.value or "cache [cache-damaged]" in node.value)
            and id(node) not in docstrings
        ):
            found.append((node.lineno, node.value[:40]))
    return found


def test_only_the_diagnose_package_writes_identifier_lines() -> None:
    import pipseal

    root = Path(pipseal.__file__).parent
    writers = {
        path.relative_to(root).as_posix(): found
        for path in sorted(root.rglob("*.py"))
        if (found := _identifier_texts(str(path)))
    }
    assert set(writers) == {"diagnose/causes.py"}, writers
