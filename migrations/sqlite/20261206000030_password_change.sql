-- Set for accounts whose password someone else chose (the first admin, accounts an admin creates):
-- until they choose their own, every page leads to /account and other requests are refused.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
