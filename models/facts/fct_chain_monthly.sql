-- One row per calendar month of chain data.
with

days as (

    select * from {{ ref('fct_chain_daily') }}

),

monthly as (

    select
        month,
        count(*) as days_with_data,
        avg(price_usd) as btc_price_avg_usd,
        max(day) as last_day

    from days
    group by month

),

month_end as (

    select
        monthly.month,
        monthly.days_with_data,
        monthly.btc_price_avg_usd,
        days.price_usd as btc_price_close_month_end_usd,
        days.price_7d_avg_usd as btc_price_month_end_usd

    from monthly
    inner join days on days.day = monthly.last_day

)

select * from month_end
