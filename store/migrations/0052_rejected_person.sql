-- 0052: whose sync kept a resource aside as unreadable, so that only their
-- sync reads it again (store RetryDue): another person's sync read it, found
-- it was not theirs, and put it off for an hour, every time, so it could
-- stay out of the right person's record for good (a review). NULL for one
-- kept aside by an import, a bulk load or before this column: any sync of
-- the source reads those again, as before.
ALTER TABLE rejected_resources ADD COLUMN person_id INTEGER;
