-- 0047: a key an entry was kept out of sharing by, held when a re-read of
-- the stored resource changed it (our reading changed, not the fact: a
-- migration such as 0046), holds the whole entry it is now part of, so the
-- reports of that fact that come after are kept out with it (store
-- heldEntry; a review found next month's prescription of a kept-out
-- medicine reaching the carer after 0046). A key held when upstream changed
-- the resource (a code corrected) holds only that report, as before: another
-- source's report of what it says now is an entry the person never chose
-- about.
ALTER TABLE held_keys ADD COLUMN whole INTEGER NOT NULL DEFAULT 0;
