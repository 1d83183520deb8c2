-- Placeholder for migration 007 (official results, branch freeze), so that 008 applies on a branch
-- without it. Drop this file when the freeze branch's 007 is merged.
SELECT 1;
