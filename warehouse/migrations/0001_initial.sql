-- Callboard warehouse, version 1. Every timestamp is UTC (TIMESTAMP without zone).

-- The fact tables (calls, spans, turns) carry no index: bulk loads stay fast and ingest keeps
-- their keys unique itself (call_id; trace_id + span_id; call_id + turn_index).
CREATE TABLE calls (
    call_id            VARCHAR NOT NULL,
    trace_id           VARCHAR,
    agent              VARCHAR,
    prompt_version     VARCHAR,
    model              VARCHAR,          -- the LLM that spoke most in the call
    started_at         TIMESTAMP NOT NULL,
    ended_at           TIMESTAMP NOT NULL,
    day                DATE NOT NULL,    -- started_at's UTC day; the lake partitions by it
    duration_ms        BIGINT,
    turn_count         INTEGER,          -- transcript turns, both speakers
    span_count         INTEGER,
    error_count        INTEGER,          -- spans with status ERROR
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    cost_usd           DOUBLE,
    recording_url      VARCHAR,
    source             VARCHAR NOT NULL, -- 'otlp' or 'call_log'
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE spans (
    trace_id           VARCHAR NOT NULL,
    span_id            VARCHAR NOT NULL,
    parent_span_id     VARCHAR,
    call_id            VARCHAR NOT NULL,
    name               VARCHAR,
    kind               VARCHAR NOT NULL, -- call | turn | stt | llm | tool | tts | other
    turn_index         INTEGER,
    started_at         TIMESTAMP NOT NULL,
    ended_at           TIMESTAMP NOT NULL,
    day                DATE NOT NULL,
    duration_ms        DOUBLE,
    provider           VARCHAR,
    model              VARCHAR,
    operation          VARCHAR,
    tool_name          VARCHAR,
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    cost_usd           DOUBLE,           -- from the span, else priced from model_prices
    is_error           BOOLEAN NOT NULL,
    error_type         VARCHAR,
    finish_reasons     VARCHAR,
    input_text         VARCHAR,
    output_text        VARCHAR,
    attributes         JSON              -- every attribute, unknown ones included
);

CREATE TABLE turns (
    call_id            VARCHAR NOT NULL,
    turn_index         INTEGER NOT NULL,
    speaker            VARCHAR NOT NULL, -- customer | agent
    text               VARCHAR NOT NULL,
    started_at         TIMESTAMP NOT NULL,
    ended_at           TIMESTAMP NOT NULL,
    day                DATE NOT NULL,
    response_latency_ms INTEGER          -- agent turns: this turn's start minus the customer's last end
);

CREATE TABLE outcomes (
    outcome_id         VARCHAR PRIMARY KEY, -- hash of source and key, so re-import is harmless
    call_id            VARCHAR,          -- NULL while it matches no call
    trace_id           VARCHAR,
    external_key       VARCHAR NOT NULL, -- the id as the export wrote it
    source             VARCHAR NOT NULL, -- e.g. 'crm', 'survey'
    recorded_at        TIMESTAMP,
    booked             BOOLEAN,
    deal_value_usd     DOUBLE,
    nps                INTEGER CHECK (nps BETWEEN 0 AND 10),
    csat               INTEGER CHECK (csat BETWEEN 1 AND 5),
    resolved           BOOLEAN,
    escalated          BOOLEAN,
    extra              JSON,
    source_file        VARCHAR
);

CREATE TABLE prompt_versions (
    agent              VARCHAR NOT NULL,
    version            VARCHAR NOT NULL,
    prompt_text        VARCHAR,
    reason             VARCHAR,
    author             VARCHAR,
    deployed_at        TIMESTAMP,
    PRIMARY KEY (agent, version)
);

CREATE TABLE model_prices (
    provider           VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    input_usd_per_mtok  DOUBLE,          -- LLMs: dollars per million input tokens
    output_usd_per_mtok DOUBLE,
    usd_per_minute     DOUBLE,           -- speech-to-text: dollars per audio minute
    usd_per_kchar      DOUBLE,           -- text-to-speech: dollars per thousand characters
    taken_on           DATE NOT NULL,    -- when the list price was read
    source             VARCHAR,
    PRIMARY KEY (provider, model)
);

CREATE TABLE failure_modes (
    name               VARCHAR PRIMARY KEY,
    description        VARCHAR NOT NULL,
    owner              VARCHAR NOT NULL CHECK (owner IN ('pm', 'engineering')),
    examples           VARCHAR,
    merged_into        VARCHAR,
    created_at         TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE judgements (
    judgement_id       VARCHAR PRIMARY KEY,
    call_id            VARCHAR NOT NULL,
    judge_name         VARCHAR NOT NULL,
    judge_version      VARCHAR NOT NULL,
    provider           VARCHAR NOT NULL,
    model              VARCHAR,
    status             VARCHAR NOT NULL CHECK (status IN ('ok', 'failed')),
    error              VARCHAR,
    score              INTEGER CHECK (score BETWEEN 1 AND 5),
    passed             BOOLEAN,
    labels             VARCHAR[],
    hallucination      BOOLEAN,
    rationale          VARCHAR,
    evidence           JSON,             -- [{"turn_index": 3, "quote": "..."}]
    input_tokens       BIGINT,
    output_tokens      BIGINT,
    cost_usd           DOUBLE,
    latency_ms         DOUBLE,
    run_id             VARCHAR,
    created_at         TIMESTAMP NOT NULL
);

CREATE TABLE review_sessions (
    session_id         VARCHAR PRIMARY KEY,
    name               VARCHAR NOT NULL,
    created_by         VARCHAR,
    created_at         TIMESTAMP NOT NULL,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    filters            JSON,
    strategy           VARCHAR NOT NULL,
    sample_size        INTEGER NOT NULL,
    seed               BIGINT NOT NULL,
    status             VARCHAR NOT NULL DEFAULT 'open',
    decisions          VARCHAR,
    closed_at          TIMESTAMP
);

CREATE TABLE review_samples (
    session_id         VARCHAR NOT NULL,
    position           INTEGER NOT NULL, -- 1..sample_size, the order calls are shown in
    call_id            VARCHAR NOT NULL,
    weight             DOUBLE NOT NULL DEFAULT 1.0, -- inverse inclusion probability
    PRIMARY KEY (session_id, position)
);

CREATE TABLE reviews (
    review_id          VARCHAR PRIMARY KEY,
    session_id         VARCHAR,
    call_id            VARCHAR NOT NULL,
    reviewer           VARCHAR NOT NULL,
    score              INTEGER CHECK (score BETWEEN 1 AND 5),
    passed             BOOLEAN,
    labels             VARCHAR[],
    notes              VARCHAR,
    test_case          BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMP NOT NULL  -- every save is a new row; the newest per reviewer and call is current
);

CREATE TABLE ingest_runs (
    run_id             VARCHAR PRIMARY KEY,
    kind               VARCHAR NOT NULL, -- traces | outcomes | calls | prompts | receiver
    started_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP,
    sources            VARCHAR,
    records_read       BIGINT DEFAULT 0,
    records_loaded     BIGINT DEFAULT 0,
    records_updated    BIGINT DEFAULT 0,
    records_quarantined BIGINT DEFAULT 0,
    status             VARCHAR NOT NULL DEFAULT 'running',
    message            VARCHAR
);

CREATE TABLE quarantine (
    run_id             VARCHAR NOT NULL,
    source_file        VARCHAR NOT NULL,
    location           VARCHAR NOT NULL, -- 'line 12', 'row 7', 'byte 4096'
    reason             VARCHAR NOT NULL,
    record             BLOB,             -- the record exactly as read
    quarantined_at     TIMESTAMP NOT NULL
);
