-- scorekit 0.4.0 -> 0.5.0 (ALTER EXTENSION scorekit UPDATE TO '0.5.0'): module bytes stored
-- uncompressed, so a new connection's first call does not decompress its module. After it the
-- schema equals a fresh 0.5.0 install (tests/e2e.sh compares the two, column storage included).
\echo Use "ALTER EXTENSION scorekit UPDATE TO '0.5.0'" to load this file. \quit

ALTER TABLE @extschema@.modules ALTER COLUMN bytes SET STORAGE EXTERNAL;
-- SET STORAGE applies to values written from now on: rewrite the stored modules (same bytes) so
-- they are kept uncompressed too. `|| ''` makes a new value; an unchanged one keeps its old
-- (compressed) copy.
UPDATE @extschema@.modules SET bytes = bytes || ''::bytea;
