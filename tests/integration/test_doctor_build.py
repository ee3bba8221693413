"""``pipseal doctor`` on hash-pinned requirements the install builds from an sdist: it names
the build dependencies without a hashed pin with the very lines ``pipseal install`` asks for,
and pasting them into a ``--build-constraint`` file makes both the doctor and the install pass.
Real backends from the index on 127.0.0.1, real sdists, a real venv."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.integration.test_build_cli import serve_backends
from tests.support.indexserver import IndexServer
from tests.support.projects import make_sdist, write_project
from tests.support.venvs import Venv


def pasted(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "--hash=sha256:" in line]


def test_doctor_asks_for_the_build_pins_the_install_asks_for_and_they_make_it_build(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    serve_backends(index_server)
    counter = tmp_path / "hooks.log"
    lines = []
    # One sdist chosen from the index (no wheel of it there), one named by its path, and one
    # whose backend logs every hook it runs (doctor must run none).
    hatched = make_sdist(write_project(tmp_path / "p", "hatched", backend="hatchling"),
                         tmp_path / "d")  # fmt: skip
    index_server.add(hatched)
    lines.append(f"hatched==1.0 --hash=sha256:{hashlib.sha256(hatched.read_bytes()).hexdigest()}")
    for name, backend in (("flitted", "flit-core"), ("counted", "in-tree")):
        project = write_project(tmp_path / "p", name, backend=backend, counter=counter)
        sdist = make_sdist(project, tmp_path / "d")
        lines.append(f"{sdist} --hash=sha256:{hashlib.sha256(sdist.read_bytes()).hexdigest()}")
    reqs = write(tmp_path / "r.txt", "\n".join(lines) + "\n")

    doctor = run_pipseal("doctor", "-i", index_server.url, "-r", reqs)
    as_json = run_pipseal("doctor", "-i", index_server.url, "-r", reqs, "--format", "json")
    install = ("install", "--python", venv.python, "-i", index_server.url, "-r", reqs)
    refused = run_pipseal(*install)

    assert doctor.returncode == 1 and as_json.returncode == 1, doctor.stdout + doctor.stderr
    assert "Traceback" not in doctor.stderr + as_json.stderr
    assert refused.returncode != 0 and venv.installed() == {}
    wanted = pasted(refused.stderr)
    assert wanted and pasted(doctor.stdout) == wanted  # the same lines, in the same order
    assert "hatched==1.0: cause [build-pins-missing]: hatched-1.0.tar.gz is built from" in (
        doctor.stdout
    )
    assert "cannot be known without running it" in doctor.stdout
    assert not counter.exists()  # no backend hook ran
    document = json.loads(as_json.stdout)
    assert document["build_constraint_lines"] == wanted
    assert document["ok"] is False and document["downloaded_archives"] == 3
    builds = {r["name"]: r for r in document["requirements"]}
    assert builds["hatched"]["status"] == "build-pins-missing"
    assert builds["hatched"]["build"]["requires"] == ["hatchling"]
    assert builds["hatched"]["build"]["dynamic_requires_known"] is False
    flitted = next(r for r in document["requirements"] if "flitted" in r["requirement"])
    assert flitted["identifiers"] == ["build-pins-missing"]
    assert flitted["build"]["why"] == "an sdist named"
    counted = next(r for r in document["requirements"] if "counted" in r["requirement"])
    assert counted["ok"] is True and counted["build"]["missing"] == []

    constraints = write(tmp_path / "build-constraints.txt", "\n".join(wanted) + "\n")
    fine = run_pipseal("doctor", "-i", index_server.url, "-r", reqs,
                       env={"PIP_BUILD_CONSTRAINT": str(constraints)})  # fmt: skip
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "hatched==1.0: ok" in fine.stdout
    assert "build: pinned with hashes: hatchling==" in fine.stdout
    built = run_pipseal(*install, "--require-hashes", "--build-constraint", constraints)
    assert built.returncode == 0, built.stderr
    assert venv.installed() == {"counted": "1.0", "flitted": "1.0", "hatched": "1.0"}

    # A build pin whose digest the index does not publish: the install would fail on it.
    wrong = wanted[0].split("--hash=sha256:")[0] + "--hash=sha256:" + "0" * 64
    bad = write(tmp_path / "bad.txt", "\n".join([wrong, *wanted[1:]]) + "\n")
    caught = run_pipseal("doctor", "-i", index_server.url, "-r", reqs, "--format", "json",
                         "--build-constraint", bad)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert caught.stdout.startswith("{"), caught.stderr
    flagged = [r for r in json.loads(caught.stdout)["requirements"] if not r["ok"]]
    assert flagged and all("unknown-digest" in r["identifiers"] for r in flagged)
