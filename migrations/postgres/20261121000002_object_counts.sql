-- Number of stored objects per module, kept by triggers, so GET All can answer X-Total-Count
-- without counting 300 000 rows. (INSERT ... ON CONFLICT DO UPDATE fires no AFTER INSERT
-- row trigger when it updates.)
CREATE TABLE object_counts (
    module TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO object_counts (module, n) SELECT module, COUNT(*) FROM objects GROUP BY module;

CREATE FUNCTION objects_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO object_counts (module, n) VALUES (NEW.module, 1)
            ON CONFLICT (module) DO UPDATE SET n = object_counts.n + 1;
        RETURN NEW;
    ELSE
        UPDATE object_counts SET n = n - 1 WHERE module = OLD.module;
        RETURN OLD;
    END IF;
END;
$$;

CREATE TRIGGER objects_count_insert AFTER INSERT ON objects FOR EACH ROW EXECUTE FUNCTION objects_count();
CREATE TRIGGER objects_count_delete AFTER DELETE ON objects FOR EACH ROW EXECUTE FUNCTION objects_count();
