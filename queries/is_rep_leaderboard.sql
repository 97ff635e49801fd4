-- table: is_rep_leaderboard
-- description: Inside-sales reps of the reviewed quarter ranked by SQLs, with
-- the quality of what they handed on; AI SDRs stand beside human SDRs and BDRs.
-- column period: the reviewed fiscal quarter
-- column rep_id: the IS rep
-- column rep_name: the rep's name
-- column role: ai_sdr, sdr or bdr
-- column sqls: leads the rep owns that were qualified in the quarter
-- column handoffs: handoffs the rep made in the quarter
-- column acceptance_rate: share of those handoffs FS accepted
-- column sql_to_win: share of the quarter's SQLs that became a won deal
-- column pipeline_created: amount of the opportunities created from the rep's leads (currency)
-- column response_time_median_h: median hours to the first touch of an owned inbound lead
-- column connect_rate: share of the rep's calls that connected
SELECT r.period, r.rep_id, r.rep_name, r.role, r.sqls, r.handoffs, r.acceptance_rate, r.sql_to_win,
       r.pipeline_created, r.response_time_median_h, r.connect_rate
FROM is_reps r
JOIN review v ON r.period = v.period
ORDER BY r.sqls DESC, r.pipeline_created DESC, r.rep_id
