-- One row per customer: an account with at least one won deal.
-- The first won deal defines the acquisition channel, the first ARR and the cohort month;
-- a customer has churned when it has no active users in the latest month of usage data.
with won as (
    select
        *,
        row_number() over (partition by account_id order by close_date, opportunity_id) as nth_win
    from opportunities
    where is_won
),

bookings as (
    select account_id, count(*) as won_deals, sum(amount) as arr
    from won
    group by account_id
),

usage as (
    select
        account_id,
        min(month) as first_active_month,
        max(month) as last_active_month,
        arg_max(active_users, month) as latest_active_users
    from monthly_active_users
    group by account_id
),

latest as (
    select max(month) as month from monthly_active_users
)

select
    a.account_id,
    a.name,
    a.industry,
    a.region,
    a.segment,
    a.owner,
    f.channel as acquisition_channel,
    f.close_date as first_won_at,
    date_trunc('month', f.close_date)::date as cohort_month,
    date_trunc('quarter', f.close_date)::date as cohort_quarter,
    f.amount as first_arr,
    b.arr,
    b.won_deals,
    u.last_active_month,
    u.latest_active_users,
    u.last_active_month < latest.month as churned,
    case when u.last_active_month < latest.month
        then (u.last_active_month + interval 1 month)::date end as churned_month,
    -- months the customer was active (for churn rates: churned customers per customer-month)
    date_diff('month', date_trunc('month', f.close_date)::date, u.last_active_month) + 1 as active_months
from won as f
join accounts as a using (account_id)
join bookings as b using (account_id)
left join usage as u using (account_id)
cross join latest
where f.nth_win = 1
