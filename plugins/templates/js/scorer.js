// {{name}}: a leadhost scorer. Adds points to a lead, each with a reason a
// sales rep understands. Return the parts; throw a string to fail the call
// (the lead keeps its built-in score).

import { log } from "leadhost:plugin/host@0.1.0";

export function score(lead, config) {
  const fields = JSON.parse(lead.fields || "{}");
  const parts = [];
  if (typeof fields.company === "string" && fields.company.trim() !== "") {
    parts.push({ points: 10, reason: "Company given: +10" });
  }
  const pricing = lead.behaviour.find((b) => b.kind === "pricing_page_viewed");
  const views = pricing ? pricing.last7Days : 0;
  if (views > 0) {
    const points = 5 * Math.min(views, 4);
    parts.push({ points, reason: `Pricing page viewed ${views} times this week: +${points}` });
  }
  log("info", `scored lead ${lead.id}: ${parts.length} part(s)`);
  return parts;
}
