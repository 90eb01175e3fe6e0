-- Number of stored objects per module, kept by triggers, so GET All can answer X-Total-Count
-- without counting 300 000 rows. (An UPSERT that updates fires no INSERT trigger.)
CREATE TABLE object_counts (
    module TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
INSERT INTO object_counts (module, n) SELECT module, COUNT(*) FROM objects GROUP BY module;

CREATE TRIGGER objects_count_insert AFTER INSERT ON objects BEGIN
    INSERT INTO object_counts (module, n) VALUES (NEW.module, 1)
        ON CONFLICT (module) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER objects_count_delete AFTER DELETE ON objects BEGIN
    UPDATE object_counts SET n = n - 1 WHERE module = OLD.module;
END;
