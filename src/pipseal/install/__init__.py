"""Installing wheels into a target environment: every wheel staged as a tree by linking
(``linking.py``; with the cache off the tree is unpacked for this install, ``wheel.py``) and one
transaction (``transaction.py``) that commits them all or none."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.install.staged import StagedDistribution
    from pipseal.install.transaction import Transaction
    from pipseal.install.unpacked import LinkMode, TreeRef, UnpackedTree
    from pipseal.provenance import Provenance

__all__ = ["StagedDistribution", "Transaction", "install_wheels"]


def __getattr__(name: str) -> object:
    # The transaction's modules are imported when an install commits, not with the package:
    # a dry run imports ``install.staged`` only to look for an interrupted commit.
    if name == "Transaction":
        from pipseal.install.transaction import Transaction

        return Transaction
    if name == "StagedDistribution":
        from pipseal.install.staged import StagedDistribution

        return StagedDistribution
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_NOTHING: Mapping[str, InstalledDistribution] = MappingProxyType({})
_NO_EXTRAS: Mapping[str, Mapping[str, bytes]] = MappingProxyType({})
_NOTHING_MORE: Mapping[str, bytes] = MappingProxyType({})


def install_wheels(
    wheels: Sequence[Path | tuple[Path, str] | tuple[UnpackedTree | TreeRef, LinkMode]],
    env: TargetEnvironment,
    *,
    replace: Mapping[str, InstalledDistribution] = _NOTHING,
    requested: Collection[str] = (),
    extra_metadata: Mapping[str, Mapping[str, bytes]] = _NO_EXTRAS,
    provenance: Mapping[str, Provenance] = MappingProxyType({}),
) -> list[StagedDistribution]:
    """Install ``wheels`` into ``env`` in one transaction; return what was installed.

    Each wheel is a path named as a wheel, ``(path, filename)`` when the file on disk is named
    otherwise (a cache entry named by its digest), or ``(tree, link_mode)``: a wheel unpacked in
    the cache, whose files are linked rather than copied.

    ``replace`` holds installed distributions to remove in the same commit (an upgrade or a
    reinstall), keyed by canonical name. A wheel whose canonical name is in ``requested`` (names
    are canonicalized here) gets a REQUESTED marker; ``extra_metadata`` maps a canonical name to
    more files for its ``.dist-info`` directory (``direct_url.json``). ``provenance`` maps a
    wheel's file name to the archive it came from, recorded in its ``.dist-info``. Any failure
    raises InstallError (or UsageError) and leaves ``env`` as it was.
    """
    from pipseal.install.transaction import Transaction
    from pipseal.install.unpacked import TreeRef, UnpackedTree

    wanted = {canonicalize_name(name) for name in requested}
    with Transaction(env) as transaction:
        staged = []
        trees = [
            w for w in wheels if isinstance(w, tuple) and isinstance(w[0], UnpackedTree | TreeRef)
        ]
        if trees:
            staged.extend(
                transaction.stage_trees(
                    [
                        (
                            tree,
                            mode,
                            _wheel_name(tree.filename) in wanted,
                            extra_metadata.get(_wheel_name(tree.filename), _NOTHING_MORE),
                        )
                        for tree, mode in trees
                    ],
                    provenance,
                )
            )
        for wheel in wheels:
            if isinstance(wheel, tuple) and isinstance(wheel[0], UnpackedTree | TreeRef):
                continue
            path, filename = wheel if isinstance(wheel, tuple) else (Path(wheel), Path(wheel).name)
            staged.append(
                transaction.stage(
                    Path(str(path)),
                    requested=_wheel_name(filename) in wanted,
                    filename=filename,
                    extra_metadata=extra_metadata.get(_wheel_name(filename), _NOTHING_MORE),
                    provenance=provenance.get(filename),
                )
            )
        for installed in replace.values():
            transaction.replace(installed)
        transaction.commit()
    return staged


def _wheel_name(filename: str) -> str:
    """The canonical project name in a wheel's file name (before it is opened and checked)."""
    return canonicalize_name(filename.split("-", 1)[0])
