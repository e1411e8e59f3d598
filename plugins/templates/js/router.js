// {{name}}: a leadhost router. Chooses who gets a lead: one of the candidate
// reps (`rep`), a team (`team`), or the public pool (`public-pool`).

import { log } from "leadhost:plugin/host@0.1.0";

export function route(lead, candidates, config) {
  const open = candidates.filter((rep) => rep.available && (rep.capacity === 0 || rep.openLeads < rep.capacity));
  open.sort((a, b) => a.openLeads - b.openLeads);
  log("info", `routed lead ${lead.id}`);
  if (open.length === 0) return { tag: "public-pool", val: "no rep is available" };
  const rep = open[0];
  return {
    tag: "rep",
    val: { id: rep.id, reason: `${rep.name} has the fewest open leads (${rep.openLeads}) of the available reps` },
  };
}
