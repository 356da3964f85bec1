-- One row per universe ticker and month in which it has any close: its month-end close, shares,
-- membership (a close on the month's last trading day), market cap (members only), listing /
-- delisting / split flags, the monthly return on split-adjusted closes and its rank in the month
-- (none while the month is partial: a month-to-date move is not a monthly return).
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

splits as (

    select * from {{ ref('stg_splits') }}

),

last_close as (

    select
        month,
        ticker,
        max(trading_day) as last_close_day
    from daily
    group by month, ticker

),

split_months as (

    select distinct
        ticker,
        cast({{ dbt.date_trunc('month', 'ex_date') }} as date) as month

    from splits

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
        month_ends.is_partial_month,
        case when daily.trading_day = month_ends.last_trading_day then daily.market_cap_usd end
            as market_cap_usd,
        cast({{ dbt.date_trunc('month', 'universe.listed_on') }} as date) = last_close.month
            as listed_in_month,
        -- the ticker's last close, and the data (any ticker's closes) reaches its delisting date:
        -- the ticker stopped trading, the data did not merely end
        coalesce(
            last_close.last_close_day = max(last_close.last_close_day) over (partition by last_close.ticker)
            and max(last_close.last_close_day) over () >= universe.delisted_on,
            false
        ) as delisted_in_month,
        split_months.ticker is not null as split_in_month

    from last_close
    inner join universe on universe.ticker = last_close.ticker
    inner join daily
        on
            daily.ticker = last_close.ticker
            and daily.trading_day = last_close.last_close_day
    inner join month_ends on month_ends.month = last_close.month
    left join split_months
        on
            split_months.ticker = last_close.ticker
            and split_months.month = last_close.month

),

with_returns as (

    select
        monthly.*,
        previous_month.market_cap_usd as previous_month_market_cap_usd,
        case
            when monthly.is_member and not monthly.is_partial_month then
                monthly.split_adjusted_close_month_end_usd
                / previous_month.split_adjusted_close_month_end_usd - 1
        end as monthly_return

    from monthly
    left join monthly as previous_month
        on
            previous_month.ticker = monthly.ticker
            and previous_month.month = cast({{ dbt.dateadd('month', -1, 'monthly.month') }} as date)
            and previous_month.is_member
            and not previous_month.is_partial_month

),

ranks as (

    select
        month,
        ticker,
        row_number() over (
            partition by month
            order by monthly_return desc, market_cap_usd desc nulls last, ticker asc
        ) as return_rank

    from with_returns
    where monthly_return is not null

),

final as (

    select
        with_returns.month,
        with_returns.ticker,
        with_returns.company_name,
        with_returns.last_close_day,
        with_returns.close_month_end_usd,
        with_returns.split_adjusted_close_month_end_usd,
        with_returns.shares_outstanding,
        with_returns.is_member,
        with_returns.is_partial_month,
        with_returns.market_cap_usd,
        with_returns.previous_month_market_cap_usd,
        with_returns.monthly_return,
        ranks.return_rank,
        with_returns.listed_in_month,
        with_returns.delisted_in_month,
        with_returns.split_in_month

    from with_returns
    left join ranks
        on
            ranks.month = with_returns.month
            and ranks.ticker = with_returns.ticker

)

select * from final
