-- One row per channel and month: the whole funnel next to the money spent on it.
-- Each event counts in the month it happened (leads by creation date, wins by close date).
with grid as (
    select month, channel, spend
    from marketing_spend
),

visits as (
    select date_trunc('month', date)::date as month, channel, sum(visitors) as visitors
    from web_visits
    group by all
),

funnel as (
    select date_trunc('month', created_at)::date as month, channel, count(*) as leads, 0 as mqls, 0 as sqls
    from leads group by all
    union all
    select date_trunc('month', mql_at)::date, channel, 0, count(*), 0
    from leads where mql_at is not null group by all
    union all
    select date_trunc('month', sql_at)::date, channel, 0, 0, count(*)
    from leads where sql_at is not null group by all
),

funnel_totals as (
    select month, channel, sum(leads) as leads, sum(mqls) as mqls, sum(sqls) as sqls
    from funnel
    group by all
),

created as (
    select date_trunc('month', created_at)::date as month, channel,
           count(*) as new_opportunities, sum(amount) as pipeline_created
    from opportunities
    group by all
),

closed as (
    select
        date_trunc('month', close_date)::date as month,
        channel,
        count(*) as closed_deals,
        count(*) filter (where is_won) as won_deals,
        count(*) filter (where is_won and opportunity_type = 'New Business') as new_customers,
        coalesce(sum(amount) filter (where is_won), 0) as new_arr
    from opportunities
    where is_closed
    group by all
)

select
    g.month,
    g.channel,
    g.spend,
    coalesce(v.visitors, 0) as visitors,
    coalesce(f.leads, 0) as leads,
    coalesce(f.mqls, 0) as mqls,
    coalesce(f.sqls, 0) as sqls,
    coalesce(c.new_opportunities, 0) as new_opportunities,
    coalesce(c.pipeline_created, 0) as pipeline_created,
    coalesce(w.closed_deals, 0) as closed_deals,
    coalesce(w.won_deals, 0) as won_deals,
    coalesce(w.new_customers, 0) as new_customers,
    coalesce(w.new_arr, 0) as new_arr
from grid as g
left join visits as v using (month, channel)
left join funnel_totals as f using (month, channel)
left join created as c using (month, channel)
left join closed as w using (month, channel)
order by g.month, g.channel
