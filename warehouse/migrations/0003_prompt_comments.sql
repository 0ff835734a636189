-- Comments on prompt versions: what the team noticed about a version and why it matters. Rows
-- are only ever added, so a discussion keeps its history.
CREATE TABLE prompt_comments (
    comment_id         VARCHAR PRIMARY KEY,
    agent              VARCHAR NOT NULL,
    version            VARCHAR NOT NULL,
    author             VARCHAR NOT NULL,
    body               VARCHAR NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
