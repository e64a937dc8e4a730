-- Logo and user retention by monthly cohort (the month of a customer's first won deal).
-- One row per cohort and month since its start, for every month the data can observe
-- (months_since_start = 0 is the cohort month itself). A customer is retained in a month when it
-- has active users that month; a month with no active customers still has its row (0 retained).
with cohorts as (
    select account_id, cohort_month, cohort_quarter
    from customers
),

sizes as (
    select cohort_month, any_value(cohort_quarter) as cohort_quarter, count(*) as cohort_customers
    from cohorts
    group by cohort_month
),

latest as (
    select max(month) as month from monthly_active_users
),

grid as (
    select s.cohort_month, s.cohort_quarter, s.cohort_customers, k.months_since_start
    from sizes as s
    cross join latest as l
    cross join range(0, 48) as k(months_since_start)
    where s.cohort_month + to_months(k.months_since_start::integer) <= l.month
),

activity as (
    select
        c.cohort_month,
        date_diff('month', c.cohort_month, m.month) as months_since_start,
        count(distinct m.account_id) as active_customers,
        sum(m.active_users) as active_users
    from monthly_active_users as m
    join cohorts as c using (account_id)
    group by all
)

select
    g.cohort_month,
    g.cohort_quarter,
    g.months_since_start,
    g.cohort_customers,
    coalesce(a.active_customers, 0) as active_customers,
    coalesce(a.active_customers, 0) / g.cohort_customers as logo_retention,
    coalesce(a.active_users, 0) as active_users
from grid as g
left join activity as a using (cohort_month, months_since_start)
order by g.cohort_month, g.months_since_start
