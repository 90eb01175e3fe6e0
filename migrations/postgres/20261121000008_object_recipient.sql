-- The party a session or CDR is for (its cdr_token's eMSP), so an eMSP that cannot name the CPO
-- (every OCPI 2.1.1 eMSP: no routing headers) can GET All its sessions and CDRs from the hub.
ALTER TABLE objects ADD COLUMN recipient_cc TEXT;
ALTER TABLE objects ADD COLUMN recipient_pid TEXT;
UPDATE objects
   SET recipient_cc = body::jsonb -> 'cdr_token' ->> 'country_code',
       recipient_pid = body::jsonb -> 'cdr_token' ->> 'party_id'
 WHERE module IN ('sessions', 'cdrs');
CREATE INDEX objects_by_recipient ON objects(module, recipient_cc, recipient_pid, last_updated, seq)
    WHERE recipient_cc IS NOT NULL;
