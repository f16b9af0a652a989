-- Run once as dba after a fresh Virtuoso starts (tests/remote_stores.py, through isql-vt).
-- /sparql and /sparql-graph-crud run as the anonymous user SPARQL, who may only read by default:
-- let it update, as gros writes through them. Acceptable only because the store listens on loopback.
grant SPARQL_UPDATE to "SPARQL";
