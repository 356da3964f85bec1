-- The last trading day of each month: the last date in the month with any close in the universe;
-- against the NYSE calendar's last session of the month, whether the data has reached it yet.
with

prices as (

    select * from {{ ref('stg_equity_prices') }}

),

universe as (

    select * from {{ ref('stg_miner_universe') }}

),

sessions as (

    select * from {{ ref('nyse_sessions') }}

),

calendar as (

    select
        cast({{ dbt.date_trunc('month', 'session') }} as date) as month,
        max(session) as last_session

    from sessions
    group by 1

),

month_ends as (

    select
        cast({{ dbt.date_trunc('month', 'prices.trading_day') }} as date) as month,
        max(prices.trading_day) as last_trading_day

    from prices
    inner join universe on universe.ticker = prices.ticker
    group by 1

),

final as (

    select
        month_ends.month,
        month_ends.last_trading_day,
        calendar.last_session as scheduled_last_session,
        coalesce(month_ends.last_trading_day < calendar.last_session, false) as is_partial_month

    from month_ends
    left join calendar on calendar.month = month_ends.month

)

select * from final
