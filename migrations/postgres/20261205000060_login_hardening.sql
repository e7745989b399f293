-- The address of each account's last successful sign-in: an account over its failure limit still
-- lets its owner in from there (src/auth.rs), so a stranger's guesses cannot lock the owner out.
ALTER TABLE users ADD COLUMN last_login_ip TEXT;
