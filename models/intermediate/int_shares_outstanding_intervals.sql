-- Each shares report as the interval of trading days it is the latest figure for, with the
-- cumulative split factor in force on the report date. A report dated on a day the market was
-- closed (a quarter end on a weekend or on Good Friday) counts from the market's previous session:
-- no share traded between that session's close and the report date.
with

reports as (

    select * from {{ ref('stg_shares_outstanding') }}

),

prices as (

    select * from {{ ref('stg_equity_prices') }}

),

factors as (

    select * from {{ ref('int_split_factors') }}

),

market_sessions as (

    select distinct trading_day
    from prices

),

-- The longest US market closure since 1900 (9/11) spanned six calendar days: a report with no
-- session in the seven days up to its date (before any price data) starts on its own date.
anchored as (

    select
        reports.ticker,
        reports.reported_as_of,
        reports.reported_shares,
        coalesce(max(market_sessions.trading_day), reports.reported_as_of) as effective_from

    from reports
    left join market_sessions
        on market_sessions.trading_day <= reports.reported_as_of
        and market_sessions.trading_day > cast({{ dbt.dateadd('day', -7, 'reports.reported_as_of') }} as date)
    group by reports.ticker, reports.reported_as_of, reports.reported_shares

),

-- Two reports dated within one closure (a Saturday and a Sunday) anchor to the same session:
-- the later one is the figure in force from it.
latest_per_session as (

    select
        anchored.*,
        row_number() over (partition by ticker, effective_from order by reported_as_of desc) as recency

    from anchored

),

intervals as (

    select
        ticker,
        reported_as_of,
        effective_from,
        lead(effective_from) over (partition by ticker order by effective_from) as next_effective_from,
        reported_shares

    from latest_per_session
    where recency = 1

),

with_factor as (

    select
        intervals.*,
        coalesce(factors.cumulative_factor, 1.0) as factor_at_report

    from intervals
    left join factors
        on factors.ticker = intervals.ticker
        and intervals.reported_as_of >= factors.valid_from
        and (factors.valid_to is null or intervals.reported_as_of < factors.valid_to)

)

select * from with_factor
