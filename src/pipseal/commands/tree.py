"""``pipseal tree``: the environment's dependency tree, drawn as ``uv pip tree`` draws it.

Roots are the distributions nothing installed requires (a requirement the installed version
does not satisfy draws no edge, as in uv) (``--reverse``: those that require
nothing), in name order; below each, what it requires (``--reverse``: what requires it). A
distribution already drawn with its subtree is drawn again as ``name vX (*)`` without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipseal.commands.installed import Installed

__all__ = ["TreeOptions", "run"]


@dataclass(frozen=True)
class TreeOptions:
    reverse: bool = False
    depth: int = 255


def run(installed: Installed, options: TreeOptions) -> list[str]:
    from pipseal.names import canonicalize_name

    dists = installed.dists
    edges: dict[str, list[str]] = {name: [] for name in dists}
    for name, dist in dists.items():
        for req in dist.requires:
            dep: str = canonicalize_name(req.name)
            # As uv draws it: an edge only to an installed version the requirement accepts.
            if (
                dep in dists
                and dep not in edges[name]
                and req.specifier.contains(dists[dep].dist.version, prereleases=True)
            ):
                edges[name].append(dep)
    if options.reverse:
        reversed_edges: dict[str, list[str]] = {name: [] for name in dists}
        for name, deps in edges.items():
            for dep in deps:
                reversed_edges[dep].append(name)
        edges = reversed_edges
    pointed_at = {dep for deps in edges.values() for dep in deps}
    roots = sorted(name for name in dists if name not in pointed_at)
    lines: list[str] = []
    shown: set[str] = set()

    def label(name: str) -> str:
        return f"{name} v{dists[name].dist.version}"

    def draw(name: str, prefix: str, depth: int, path: tuple[str, ...]) -> None:
        children = sorted(edges[name])
        if depth >= options.depth:
            return
        for i, child in enumerate(children):
            last = i == len(children) - 1
            branch, below = ("└── ", "    ") if last else ("├── ", "│   ")
            if child in path:
                continue  # a cycle: drawn once, where it was met
            if child in shown and edges[child]:
                lines.append(f"{prefix}{branch}{label(child)} (*)")
                continue
            lines.append(f"{prefix}{branch}{label(child)}")
            if edges[child]:
                shown.add(child)
            draw(child, prefix + below, depth + 1, (*path, child))

    for root in roots:
        lines.append(label(root))
        if edges[root]:
            shown.add(root)
        draw(root, "", 0, (root,))
    return lines
