"""Dependency resolution with pip's choices: a resolvelib provider over the finder and the target.

:func:`resolve` turns the user's requirements into the set of distributions to install, in
install order. The provider keeps pip's rules (``pip/_internal/resolution/resolvelib``):

- identifiers are canonical names, ``name[extra1,extra2]`` for a project with extras; an extras
  candidate depends on its base candidate at the same version, plus the dependencies whose marker
  holds for one of its extras;
- candidates come from :func:`pipseal.candidates.select` (Requires-Python of the file, wheel tags,
  yanked only when pinned, format control, pinned digests first), the best file per version,
  newest first; pre-releases only with ``allow_prereleases`` or when a specifier names one;
- a candidate's METADATA Requires-Python becomes a dependency on the pseudo-project
  ``<Python from Requires-Python>`` (one candidate: the target's version), so an excluded
  candidate makes the resolver backtrack, and pip's message is shown when nothing fits;
- constraints narrow versions without adding a requirement; requirements whose marker does not
  hold on the target are dropped;
- an installed distribution that satisfies the requirements is a candidate too, first unless an
  upgrade applies to its name (``upgrade``: the requested names, and with ``eager`` every name);
  ``force_reinstall`` never keeps one; its dependencies come from its installed METADATA;
- a URL requirement (``name @ url``) is the one candidate for its name.

Errors are :class:`~pipseal.errors.NoMatchingDistribution` with pip's texts ("No matching
distribution found for X", "Cannot install ... because these package versions have conflicting
dependencies.", "Package 'x' requires a different Python: ..."); too many rounds is a
PipsealError.

The modules, one idea each: ``model`` (the resolver's values: candidates and requirements),
``choices`` (which candidates a name offers, best first, lazily), ``provider`` (resolvelib's
provider: what to decide next, what matches, dependencies), ``report`` (pip's failure texts),
``resolution`` (the entry point :func:`resolve` and its result).
"""

from pipseal.resolve.resolution import resolve

__all__ = ["resolve"]
