"""{{name}}: a leadhost nurture step. Returns what should happen next to a
lead in a workflow, in order."""

import json

import wit_world
from wit_world.imports.types import Action, Action_AddTag, Action_SendEmail, Action_Wait, Email, Lead

TWO_DAYS = 2 * 24 * 3600


class WitWorld(wit_world.WitWorld):
    def run(self, lead: Lead, config: str) -> list[Action]:
        fields = json.loads(lead.fields or "{}")
        to = fields.get("email")
        if not isinstance(to, str):
            return []  # nobody to write to
        name = fields.get("name") or "there"
        body = f"Hello {name},\n\nThank you for your interest. We will be in touch within a day."
        return [
            Action_SendEmail(Email(to, f"Welcome, {name}", body, None)),
            Action_Wait(TWO_DAYS),
            Action_AddTag("welcomed"),
        ]
