-- 0041: the name of the account that accepted an invitation, as it was then
-- (its own record's name, or the name a carer's account was made with).
--
-- An invitation is for the carer the person named, but whoever holds the
-- code and the person's date of birth can accept it. The person's pages
-- named only the carer invited, so someone else accepting was shown as the
-- carer they meant (found by a review). Invitations accepted before this
-- have none, and read as before.
ALTER TABLE carer_grants ADD COLUMN accepted_as TEXT;
