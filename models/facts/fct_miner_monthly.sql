-- One row per ticker and month in which it has any close: its month-end close, shares and
-- membership (a close on the month's last trading day). Market cap only for members.
with

daily as (

    select * from {{ ref('fct_equity_daily') }}

),

universe as (

    select * from {{ ref('stg_miner_universe') }}

),

month_ends as (

    select * from {{ ref('int_trading_month_ends') }}

),

last_close as (

    select month, ticker, max(trading_day) as last_close_day
    from daily
    group by month, ticker

),

monthly as (

    select
        last_close.month,
        last_close.ticker,
        universe.company_name,
        daily.trading_day as last_close_day,
        daily.close_usd as close_month_end_usd,
        daily.split_adjusted_close_usd as split_adjusted_close_month_end_usd,
        daily.shares_outstanding,
        daily.trading_day = month_ends.last_trading_day as is_member,
        case when daily.trading_day = month_ends.last_trading_day then daily.market_cap_usd end
            as market_cap_usd

    from last_close
    inner join universe on universe.ticker = last_close.ticker
    inner join daily
        on daily.ticker = last_close.ticker
        and daily.trading_day = last_close.last_close_day
    inner join month_ends on month_ends.month = last_close.month

)

select * from monthly
