-- 0040: a session's CSRF token is worked out from its id (an HMAC under the
-- server's secret, store.DB.csrfFor) rather than stored beside it.
--
-- Session ids were stored hashed, but their CSRF tokens in plain text: a copy
-- of the database held a token for every live session. Now it holds none.
-- Forms open in a browser when this runs carry the old token and are refused
-- once, asking the person to reload the page.
ALTER TABLE sessions DROP COLUMN csrf_token;
