-- The last trading day of each month: the last date in the month with any close in the universe.
with

prices as (

    select * from {{ ref('stg_equity_prices') }}

),

universe as (

    select * from {{ ref('stg_miner_universe') }}

),

month_ends as (

    select
        cast({{ dbt.date_trunc('month', 'prices.trading_day') }} as date) as month,
        max(prices.trading_day) as last_trading_day

    from prices
    inner join universe on universe.ticker = prices.ticker
    group by 1

)

select * from month_ends
