"""{{name}}: a leadhost scorer. Adds points to a lead, each with a reason a
sales rep understands. Return the parts; raise Err(message) to fail the call
(the lead keeps its built-in score)."""

import json

import wit_world
from wit_world.imports import host
from wit_world.imports.host import LogLevel
from wit_world.imports.types import Lead, ScorePart


class WitWorld(wit_world.WitWorld):
    def score(self, lead: Lead, config: str) -> list[ScorePart]:
        fields = json.loads(lead.fields or "{}")
        parts = []
        company = fields.get("company")
        if isinstance(company, str) and company.strip():
            parts.append(ScorePart(10, "Company given: +10"))
        views = next((b.last7_days for b in lead.behaviour if b.kind == "pricing_page_viewed"), 0)
        if views > 0:
            points = 5 * min(views, 4)
            parts.append(ScorePart(points, f"Pricing page viewed {views} times this week: +{points}"))
        host.log(LogLevel.INFO, f"scored lead {lead.id}: {len(parts)} part(s)")
        return parts
