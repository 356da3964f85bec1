-- One row per ticker and trading day: unadjusted close, split-adjusted close, shares, market cap.
with

prices as (

    select * from {{ ref('stg_equity_prices') }}

),

factors as (

    select * from {{ ref('int_split_factors') }}

),

reports as (

    select * from {{ ref('int_shares_outstanding_intervals') }}

),

latest_factor as (

    select
        ticker,
        max(cumulative_factor) filter (where valid_to is null) as factor_today
    from factors
    group by ticker

),

priced as (

    select
        prices.trading_day,
        prices.ticker,
        prices.close_usd,
        coalesce(factors.cumulative_factor, 1.0) as factor_on_day,
        coalesce(latest_factor.factor_today, 1.0) as factor_today

    from prices
    left join factors
        on
            factors.ticker = prices.ticker
            and prices.trading_day >= factors.valid_from
            and {{ before_interval_end('prices.trading_day', 'factors.valid_to') }}
    left join latest_factor
        on latest_factor.ticker = prices.ticker

),

with_shares as (

    select
        priced.trading_day,
        cast({{ dbt.date_trunc('month', 'priced.trading_day') }} as date) as month,
        priced.ticker,
        priced.close_usd,
        priced.close_usd * priced.factor_on_day / priced.factor_today as split_adjusted_close_usd,
        reports.reported_as_of as shares_reported_as_of,
        cast(round(reports.reported_shares * priced.factor_on_day / reports.factor_at_report) as bigint)
            as shares_outstanding

    from priced
    left join reports
        on
            reports.ticker = priced.ticker
            and priced.trading_day >= reports.effective_from
            and {{ before_interval_end('priced.trading_day', 'reports.next_effective_from') }}

),

final as (

    select
        *,
        close_usd * shares_outstanding as market_cap_usd

    from with_shares

)

select * from final
