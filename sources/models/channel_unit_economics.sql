-- CAC, LTV and LTV:CAC by acquisition channel over the last twelve months of data.
--   CAC  = marketing spend / new customers won
--   LTV  = average first-year ARR x 80% gross margin x expected lifetime in years,
--          lifetime = 1 / annual logo churn, capped at 3 years (we have two years of history), where annual churn comes from the
--          monthly churn rate of the channel's customers over their whole history.
with window_end as (
    select max(month) as last_month from marketing_spend
),

recent as (
    select cm.*
    from channel_monthly as cm, window_end as w
    where cm.month > w.last_month - interval 12 month
),

spend_and_wins as (
    select
        channel,
        sum(spend) as spend,
        sum(leads) as leads,
        sum(new_customers) as new_customers,
        sum(new_arr) as new_arr
    from recent
    group by channel
),

first_deals as (
    select c.acquisition_channel as channel, avg(c.first_arr) as avg_first_arr
    from customers as c, window_end as w
    where c.first_won_at > w.last_month - interval 12 month
    group by all
),

churn as (
    select
        acquisition_channel as channel,
        count(*) filter (where churned) / sum(active_months) as monthly_churn
    from customers
    group by all
)

select
    s.channel,
    s.spend,
    s.leads,
    s.new_customers,
    s.new_arr,
    s.spend / nullif(s.leads, 0) as cost_per_lead,
    s.spend / nullif(s.new_customers, 0) as cac,
    f.avg_first_arr,
    ch.monthly_churn,
    1 - power(1 - ch.monthly_churn, 12) as annual_churn,
    least(3.0, 1 / nullif(1 - power(1 - ch.monthly_churn, 12), 0)) as lifetime_years,
    f.avg_first_arr * 0.8 * least(3.0, 1 / nullif(1 - power(1 - ch.monthly_churn, 12), 0)) as ltv,
    f.avg_first_arr * 0.8 * least(3.0, 1 / nullif(1 - power(1 - ch.monthly_churn, 12), 0))
        / nullif(s.spend / nullif(s.new_customers, 0), 0) as ltv_to_cac,
    -- months of gross margin needed to earn back the CAC
    (s.spend / nullif(s.new_customers, 0)) / nullif(f.avg_first_arr * 0.8 / 12, 0) as payback_months
from spend_and_wins as s
left join first_deals as f using (channel)
left join churn as ch using (channel)
order by s.channel
