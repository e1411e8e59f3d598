-- Opens and clicks of tracked emails, each with who made it: a person, a
-- mail-privacy proxy fetching images, or a link scanner following links.
-- Only a person's feeds scoring (as a behaviour event) and sets the email's
-- opened_at / clicked_at; the others are kept apart here.
CREATE TABLE email_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    email_id   TEXT NOT NULL REFERENCES emails(id),
    kind       TEXT NOT NULL,
    url        TEXT,
    reader     TEXT NOT NULL,
    user_agent TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX email_events_email ON email_events (email_id, created_at);
