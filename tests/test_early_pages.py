"""Which names of requirements files are read ahead (``pipeline.session.file_names``): a file
of plain requirements gives its names; a file with anything that could change where or whether
a name is asked (an option, a marker, a URL, an include) gives None, and nothing is read ahead."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipseal.pipeline.session import file_names

DIGEST = "0" * 64


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("six\n", ["six"]),
        ("# an app\n\nDjango>=4.2,<5\nrequests[socks] ~= 2.31  # http\n", ["Django", "requests"]),
        (f"\ufeffalpha==1.0 --hash=sha256:{DIGEST} \\\n", None),
        (
            f"alpha==1.0 --hash=sha256:{DIGEST}\nbeta==2.0 --hash sha256:{DIGEST}\n",
            ["alpha", "beta"],
        ),
        ("six\nsix>=1\n", ["six"]),
        ("", []),
        ("-i https://other.example/simple\nsix\n", None),
        ("--extra-index-url https://other.example/simple\nsix\n", None),
        ("six\n-r more.txt\n", None),
        ("six; python_version < '3'\n", None),
        ("pkg @ https://example.org/pkg-1.0.tar.gz\n", None),
        ("./local/project\n", None),
        ("-e ./local\n", None),
        ("six>=${VERSION}\n", None),
    ],
)
def test_the_names_of_a_requirements_file_of_plain_requirements(
    tmp_path: Path, text: str, names: list[str] | None
) -> None:
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    assert file_names([str(path)]) == names


def test_every_file_must_be_plain_and_their_names_are_joined(tmp_path: Path) -> None:
    first, second, odd = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    first.write_text("alpha\n")
    second.write_text("beta\nalpha\n")
    odd.write_text("--pre\ngamma\n")
    assert file_names([str(first), str(second)]) == ["alpha", "beta"]
    assert file_names([str(first), str(odd)]) is None
    assert file_names([str(tmp_path / "missing.txt")]) is None
    assert file_names(["https://example.org/requirements.txt"]) is None


def _venv(root: Path, cfg: str, *versions: str) -> str:
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(cfg)
    for version in versions:
        (root / "lib" / version / "site-packages").mkdir(parents=True)
    return str(root / "bin" / "python")


def test_a_virtual_environments_site_directory_is_known_from_its_layout(tmp_path: Path) -> None:
    """The early page reader skips installed names without waiting for the interpreter's
    answer when the target is a plain virtual environment; anything less certain waits."""
    from pipseal.pipeline.target import _venv_site_dirs

    cfg = "home = /usr/bin\ninclude-system-site-packages = false\n"
    plain = _venv(tmp_path / "a", cfg, "python3.11")
    assert _venv_site_dirs(plain) == (str(tmp_path / "a/lib/python3.11/site-packages"),)
    system = _venv(tmp_path / "b", "include-system-site-packages = true\n", "python3.11")
    assert _venv_site_dirs(system) is None
    two = _venv(tmp_path / "c", "home = /usr/bin\n", "python3.11", "python3.12")
    assert _venv_site_dirs(two) is None
    assert _venv_site_dirs(str(tmp_path / "none" / "bin" / "python")) is None
