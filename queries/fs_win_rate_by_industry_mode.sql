-- table: fs_win_rate_by_industry_mode
-- description: In the reviewed quarter, per reference industry: do deals FS
-- visited in person win more often than deals met only online?
-- column period: the reviewed fiscal quarter
-- column industry: reference industry
-- column in_person_share: FS visits / (visits + online meetings)
-- column benchmark_share: the survey's in-person share for the industry
-- column deals_visited: deals closed with at least one visit
-- column win_rate_visited: their win rate
-- column deals_online_only: deals closed with online meetings only
-- column win_rate_online_only: their win rate
-- column visit_uplift: win_rate_visited - win_rate_online_only (null when a group is empty)
SELECT i.period, i.industry, i.in_person_share, i.benchmark_share,
       i.deals_visited, i.win_rate_visited, i.deals_online_only, i.win_rate_online_only,
       i.win_rate_visited - i.win_rate_online_only AS visit_uplift
FROM industry_visit_ratio i
JOIN review v ON i.period = v.period
ORDER BY i.deals_visited + i.deals_online_only DESC, i.industry
