-- table: sla_missed_handoffs
-- description: Accepted handoffs of the reviewed quarter whose first FS contact
-- missed the SLA (or never came), and what became of them.
-- column handoff_id: the handoff
-- column handed_off_at: when IS handed it over (UTC)
-- column from_rep_id: the IS rep
-- column to_rep_id: the FS rep who missed the SLA
-- column hours_to_first_contact: elapsed hours to the first contact (null: no contact)
-- column status: accepted or sent_back
-- column opportunity_outcome: open, won or lost (null: no opportunity)
-- column opportunity_amount: the opportunity's amount (currency)
SELECT h.handoff_id, h.handed_off_at, h.from_rep_id, h.to_rep_id, h.hours_to_first_contact,
       h.status, h.opportunity_outcome, h.opportunity_amount
FROM handoffs h
JOIN review v ON h.period = v.period
WHERE h.accepted AND NOT h.sla_met
ORDER BY h.hours_to_first_contact DESC NULLS FIRST, h.handoff_id
