-- 0060: an entry any of whose own codes is of a kind kept out of sharing is
-- kept out, not only one whose first code is. Filled by 0063, with the codes
-- of every concept that says what an entry is, which reviews widened after
-- this was first written; nothing is done here.
SELECT 1;
