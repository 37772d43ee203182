-- 0022: an invitation form makes one invitation however often it is sent.
-- Reloading the page that shows a new invitation's code sent the form again
-- and made a second invitation with a second live code. Each invitation form
-- now carries a random token (kept hashed, as codes are); a second sending
-- finds the invitation the first made.
ALTER TABLE carer_grants ADD COLUMN form_once BLOB;
CREATE UNIQUE INDEX carer_grants_form_once ON carer_grants(person_id, form_once) WHERE form_once IS NOT NULL;
