-- table: loss_mix_qoq
-- description: The mix of loss categories in the reviewed quarter and the
-- quarter before, for the whole organisation, with the recommended action.
-- column period: fiscal quarter (the reviewed one and the one before)
-- column category: customer, competitor, self, timing or unclassified
-- column losses: lost deals
-- column amount: amount lost (currency)
-- column share: share of the quarter's losses
-- column share_change: change of the share vs the quarter before
-- column recommended_action: what to do about the category
SELECT s.period, s.category, s.losses, s.amount, s.share, s.share_change, s.recommended_action
FROM loss_summary s
CROSS JOIN review v
WHERE s.segment_kind = 'total' AND s.level = 'category'
  AND (s.period = v.period OR s.period = v.compare_to)
ORDER BY s.period, s.losses DESC, s.category
