-- Each shares report as the interval of trading days it is the latest figure for, with the
-- cumulative split factor in force on the report date. A report dated on a day the NYSE was
-- closed (a quarter end on a weekend or on Good Friday) counts from the exchange's previous
-- session: no share traded between that session's close and the report date.
with

reports as (

    select * from {{ ref('stg_shares_outstanding') }}

),

sessions as (

    select * from {{ ref('nyse_sessions') }}

),

factors as (

    select * from {{ ref('int_split_factors') }}

),

-- No scheduled closure in the calendar's years (2009..2040) is longer than a long weekend, so the
-- session it counts from is one of the seven days up to the report date; a report outside the
-- calendar's years starts on its own date. The seven days are looked up by equality: as a range
-- join on the sessions the planner could pick a join order that cost seconds at 1,000 tickers.
days_back as (
    {% for days in range(7) %}
        select {{ days }} as days{{ ' union all' if not loop.last }}
    {%- endfor %}

),

anchored as (

    select
        reports.ticker,
        reports.reported_as_of,
        reports.reported_shares,
        coalesce(max(sessions.session), reports.reported_as_of) as effective_from

    from reports
    cross join days_back
    left join sessions
        on sessions.session = cast({{ dbt.dateadd('day', '-1 * days_back.days', 'reports.reported_as_of') }} as date)
    group by reports.ticker, reports.reported_as_of, reports.reported_shares

),

-- Two reports dated within one closure (a Saturday and a Sunday) anchor to the same session:
-- the later one is the figure in force from it.
latest_per_session as (

    select
        anchored.*,
        row_number()
            over (partition by anchored.ticker, anchored.effective_from order by anchored.reported_as_of desc)
            as recency

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
        on
            factors.ticker = intervals.ticker
            and intervals.reported_as_of >= factors.valid_from
            and {{ before_interval_end('intervals.reported_as_of', 'factors.valid_to') }}

)

select * from with_factor
