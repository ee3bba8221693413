"""resolvelib's resolver, with "does the current pin still satisfy this name's criterion?"
answered once per (criterion, pin), and each name's preference once per criterion.

On every round resolvelib asks that of every name it knows, twice (``resolution.py``'s
``unsatisfied_names`` and ``newly_unsatisfied_names``): for an application of 300
distributions, 127,000 questions and 350,000 ``is_satisfied_by`` calls, a fifth of a cold
resolution's CPU. :meth:`_Resolution.resolve` is resolvelib 1.2's round loop with those two
scans made plain loops over the remembered answers (no method call a name: the 127,000 calls
were still 60 ms of the main thread); with another resolvelib it is resolvelib's own loop.
The answer depends on nothing but the two objects: resolvelib never changes a
:class:`~resolvelib.resolvers.criterion.Criterion` in place (it makes a new one each time a
criterion gains or loses a requirement) and a pin is a candidate, whose requirements answer
:meth:`~pipseal.resolve.provider.Provider.is_satisfied_by` the same every time. Each answer is
kept beside both objects (so their ids are not reused) for the resolution's lifetime.
"""

from __future__ import annotations

import collections
import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING

import resolvelib
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter
from resolvelib.resolvers import resolution as _resolvelib
from resolvelib.resolvers.abstract import Result
from resolvelib.resolvers.criterion import Criterion
from resolvelib.resolvers.exceptions import (
    RequirementsConflicted,
    ResolutionImpossible,
    ResolutionTooDeep,
)
from resolvelib.structs import IteratorMapping, State

if TYPE_CHECKING:
    from resolvelib.providers import Preference

from pipseal.resolve.model import Candidate, Requirement

#: The resolvelib whose round loop :meth:`_Resolution.resolve` repeats.
_LOOP_OF = (1, 2)


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

    def _unsatisfied(self, state: State[Requirement, Candidate, str]) -> list[str]:
        """The names whose criterion the current pin does not satisfy (or that have none), in
        the criteria's order: ``_is_current_pin_satisfying`` of every name, inlined."""
        pins = state.mapping
        answers = self._pin_answers
        found: list[str] = []
        for name, criterion in state.criteria.items():
            pin = pins.get(name)
            if pin is None:
                found.append(name)
                continue
            known = answers.get(id(criterion))
            if known is None or known[1] is not pin:
                if not self._is_current_pin_satisfying(name, criterion):
                    found.append(name)
            elif not known[2]:
                found.append(name)
        return found

    def resolve(  # resolvelib's loop, kept whole to stay comparable with it
        self, requirements: Iterable[Requirement], max_rounds: int
    ) -> State[Requirement, Candidate, str]:
        if Version(resolvelib.__version__).release[:2] != _LOOP_OF:
            return super().resolve(requirements, max_rounds)
        if self._states:
            raise RuntimeError("already resolved")
        self._r.starting()
        self._states = [State(mapping=collections.OrderedDict(), criteria={}, backtrack_causes=[])]
        for r in requirements:
            try:
                self._add_to_criteria(self.state.criteria, r, parent=None)
            except RequirementsConflicted as e:
                raise ResolutionImpossible(e.criterion.information) from e
        self._push_new_state()

        cutoff: int | None = None
        optimistic_start: int | None = None
        for round_index in range(max_rounds):
            self._r.starting_round(index=round_index)
            if self._optimistic_backjumping_ratio and self._save_states is not None:
                if optimistic_start is None:
                    optimistic_start = round_index
                    cutoff = int((max_rounds - round_index) * self._optimistic_backjumping_ratio)
                    if cutoff <= 0:
                        self._rollback_states()
                        continue
                elif cutoff is not None and round_index - optimistic_start >= cutoff:
                    self._rollback_states()
                    continue

            state = self._states[-1]
            unsatisfied = self._unsatisfied(state)
            if not unsatisfied:
                self._r.ending(state=state)
                return state
            satisfied = state.criteria.keys() - unsatisfied

            if len(unsatisfied) > 1:
                narrowed = list(
                    self._p.narrow_requirement_selection(
                        identifiers=unsatisfied,
                        resolutions=state.mapping,
                        candidates=IteratorMapping(
                            state.criteria, operator.attrgetter("candidates")
                        ),
                        information=IteratorMapping(
                            state.criteria, operator.attrgetter("information")
                        ),
                        backtrack_causes=state.backtrack_causes,
                    )
                )
            else:
                narrowed = unsatisfied
            if not narrowed:
                raise RuntimeError("narrow_requirement_selection returned 0 names")
            name = self._preferred(state, narrowed) if len(narrowed) > 1 else narrowed[0]

            failure_criterion = self._attempt_to_pin_criterion(name)
            if failure_criterion:
                causes = self._extract_causes(failure_criterion)
                self._r.resolving_conflicts(causes=causes)
                try:
                    success = self._backjump(causes)
                except ResolutionImpossible:
                    if self._optimistic_backjumping_ratio and self._save_states:
                        failed_optimistic = True
                    else:
                        raise
                else:
                    failed_optimistic = bool(
                        not success and self._optimistic_backjumping_ratio and self._save_states
                    )
                if failed_optimistic and self._save_states:
                    self._rollback_states()
                else:
                    self.state.backtrack_causes[:] = causes
                    if not success:
                        raise ResolutionImpossible(self.state.backtrack_causes)
            else:
                # Names satisfied before this pin and not after it stop being information.
                state = self._states[-1]
                now_unsatisfied = set(self._unsatisfied(state))
                self._remove_information_from_criteria(
                    state.criteria, {key for key in satisfied if key in now_unsatisfied}
                )
                self._push_new_state()
            self._r.ending_round(index=round_index, state=self.state)
        raise ResolutionTooDeep(max_rounds)

    def _preferred(self, state: State[Requirement, Candidate, str], names: list[str]) -> str:
        """``min(names, key=self._get_preference)``, the remembered preferences looked up
        here (26,000 calls of a resolution of 300 distributions, most of them answered so)."""
        stamp = getattr(self._p, "preference_stamp", None)
        criteria = state.criteria
        preferences = self._preferences
        best_name = names[0]
        best: Preference | None = None
        for name in names:
            criterion = criteria[name]
            found = preferences.get(id(criterion))
            if found is None or found[0] is not criterion or found[1] != stamp or stamp is None:
                value = super()._get_preference(name)
                found = preferences[id(criterion)] = (criterion, stamp, value)
            if best is None or found[2] < best:
                best, best_name = found[2], name
        return best_name

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
