-- When in the case a document was attached (issue 21): with the request or during the
-- trajectory, and the trajectory's step it belongs to. Rows from before read as the request.
ALTER TABLE documents ADD COLUMN IF NOT EXISTS stage text NOT NULL DEFAULT 'request';
ALTER TABLE documents ADD COLUMN IF NOT EXISTS step text;
