// {{name}}: a leadhost nurture step. Returns what should happen next to a
// lead in a workflow, in order. (A wait is in seconds, as a BigInt: u64.)

const TWO_DAYS = 2n * 24n * 3600n;

export function run(lead, config) {
  const fields = JSON.parse(lead.fields || "{}");
  if (typeof fields.email !== "string") return []; // nobody to write to
  const name = fields.name ?? "there";
  return [
    {
      tag: "send-email",
      val: {
        to: fields.email,
        subject: `Welcome, ${name}`,
        bodyText: `Hello ${name},\n\nThank you for your interest. We will be in touch within a day.`,
      },
    },
    { tag: "wait", val: TWO_DAYS },
    { tag: "add-tag", val: "welcomed" },
  ];
}
