"""resolvelib's resolver, with "does the current pin still satisfy this name's criterion?"
answered once per (criterion, pin), and each name's preference once per criterion.

On every round resolvelib asks that of every name it knows, twice (``resolution.py``'s
``unsatisfied_names`` and ``newly_unsatisfied_names``): for an application of 300
distributions, 127,000 questions and 350,000 ``is_satisfied_by`` calls, a fifth of a cold
resolution's CPU. The answer depends on nothing but the two objects: resolvelib never changes a
:class:`~resolvelib.resolvers.criterion.Criterion` in place (it makes a new one each time a
criterion gains or loses a requirement) and a pin is a candidate, whose requirements answer
:meth:`~pipseal.resolve.provider.Provider.is_satisfied_by` the same every time. Each answer is
kept beside both objects (so their ids are not reused) for the resolution's lifetime.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from resolvelib import AbstractProvider, BaseReporter
from resolvelib.resolvers import resolution as _resolvelib
from resolvelib.resolvers.abstract import Result
from resolvelib.resolvers.criterion import Criterion

if TYPE_CHECKING:
    from resolvelib.providers import Preference

from pipseal.resolve.model import Candidate, Requirement


class _Resolution(_resolvelib.Resolution[Requirement, Candidate, str]):
    def __init__(
        self,
        provider: AbstractProvider[Requirement, Candidate, str],
        reporter: BaseReporter[Requirement, Candidate, str],
    ) -> None:
        super().__init__(provider, reporter)
        self._pin_answers: dict[int, tuple[object, object, bool]] = {}
        self._preferences: dict[int, tuple[object, object, Preference]] = {}

    def _is_current_pin_satisfying(
        self, name: str, criterion: Criterion[Requirement, Candidate]
    ) -> bool:
        pin = self._states[-1].mapping.get(name)  # not the ``state`` property: 127,000 calls
        if pin is None:
            return False
        # Keyed by the criterion alone (no tuple made per question): its last pin's answer.
        found = self._pin_answers.get(id(criterion))
        if found is None or found[1] is not pin:
            answer = super()._is_current_pin_satisfying(name, criterion)
            found = self._pin_answers[id(criterion)] = (criterion, pin, answer)
        return found[2]

    def _get_preference(self, name: str) -> Preference:
        # Asked of every unsatisfied name on every round (26,000 times for 300 distributions,
        # each making two mappings over the criteria): answered once per criterion, while the
        # provider's ``preference_stamp`` stays the same (pipseal's preference depends on the
        # name, its criterion's requirements, and the names promoted by conflicts).
        criterion = self.state.criteria[name]
        stamp = getattr(self._p, "preference_stamp", None)
        found = self._preferences.get(id(criterion))
        if found is None or found[0] is not criterion or found[1] != stamp or stamp is None:
            value = super()._get_preference(name)
            found = self._preferences[id(criterion)] = (criterion, stamp, value)
        return found[2]


class Resolver(_resolvelib.Resolver[Requirement, Candidate, str]):
    """:class:`resolvelib.Resolver`, its rounds run by :class:`_Resolution`."""

    def resolve(  # type: ignore[override]  # as resolvelib's own Resolver.resolve
        self, requirements: Iterable[Requirement], max_rounds: int = 100
    ) -> Result[Requirement, Candidate, str]:
        resolution = _Resolution(self.provider, self.reporter)
        state = resolution.resolve(requirements, max_rounds=max_rounds)
        return _resolvelib._build_result(state)
