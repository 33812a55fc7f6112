-- Streaming anomaly detection with an AFTER INSERT trigger: each new reading is scored by the RCF
-- model 'anomaly' against its own stream (one per machine), the stream's state is kept in
-- scorekit.stream_state (same transaction as the insert), and the score is stored next to it.

CREATE TABLE IF NOT EXISTS readings (
    machine text NOT NULL,
    ts      timestamptz NOT NULL,
    value   float8 NOT NULL
);

CREATE TABLE IF NOT EXISTS reading_scores (
    machine    text NOT NULL,
    ts         timestamptz NOT NULL,
    value      float8 NOT NULL,
    score      float8 NOT NULL,
    grade      float8 NOT NULL,
    is_anomaly boolean NOT NULL,
    PRIMARY KEY (machine, ts)
);

CREATE OR REPLACE FUNCTION score_reading() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reading_scores (machine, ts, value, score, grade, is_anomaly)
    SELECT NEW.machine, NEW.ts, NEW.value, s.score, s.grade, s.is_anomaly
    FROM scorekit.anomaly_update('anomaly', NEW.machine, NEW.value) AS s;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS score_reading ON readings;
CREATE TRIGGER score_reading AFTER INSERT ON readings
    FOR EACH ROW EXECUTE FUNCTION score_reading();
