"""{{name}}: a leadhost router. Chooses who gets a lead: one of the candidate
reps, a team, or the public pool."""

import wit_world
from wit_world.imports import host
from wit_world.imports.host import LogLevel
from wit_world.imports.types import (
    Assignment,
    Lead,
    Rep,
    RouteDecision,
    RouteDecision_PublicPool,
    RouteDecision_Rep,
)


class WitWorld(wit_world.WitWorld):
    def route(self, lead: Lead, candidates: list[Rep], config: str) -> RouteDecision:
        available = [r for r in candidates if r.available and (r.capacity == 0 or r.open_leads < r.capacity)]
        host.log(LogLevel.INFO, f"routed lead {lead.id}")
        if not available:
            return RouteDecision_PublicPool("no rep is available")
        rep = min(available, key=lambda r: r.open_leads)
        reason = f"{rep.name} has the fewest open leads ({rep.open_leads}) of the available reps"
        return RouteDecision_Rep(Assignment(rep.id, reason))
