-- table: stale_open_deals
-- description: The 50 largest open deals with no FS visit or online meeting in
-- the 30 days before the end of the data: who to chase this week.
-- column opportunity_id: the open deal
-- column account_name: its account
-- column owner_rep_id: the FS rep who owns it
-- column stage: its stage
-- column amount: its amount (currency)
-- column last_meeting_at: the last FS visit or online meeting (UTC; null: never met)
-- column data_end: the last event in the data (UTC)
WITH last_meeting AS (
  SELECT opportunity_id, MAX(occurred_at) AS last_meeting_at
  FROM activities
  WHERE kind IN ('visit', 'online_meeting')
  GROUP BY opportunity_id
)
SELECT o.opportunity_id, a.account_name, o.owner_rep_id, o.stage, o.amount, l.last_meeting_at, v.data_end
FROM opportunities o
JOIN accounts a ON a.account_id = o.account_id
LEFT JOIN last_meeting l ON l.opportunity_id = o.opportunity_id
CROSS JOIN review v
WHERE o.outcome = 'open'
  AND (l.last_meeting_at IS NULL OR l.last_meeting_at < v.data_end - INTERVAL '30 days')
ORDER BY o.amount DESC, o.opportunity_id
LIMIT 50
